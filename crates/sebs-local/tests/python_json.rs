//! The Python runtime's JSON codec: the same bytes and errors as the json module, without
//! importing it (or `re`) on an instance's way to its first response.

use std::path::Path;
use std::process::Command;

const BOOTSTRAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../runtimes/python/bootstrap.py"
);
const HANDLER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../runtimes/python/handler.py"
);

fn run_python(dir: &Path, script: &str) -> String {
    let path = dir.join("check.py");
    std::fs::write(&path, script).unwrap();
    let out = Command::new("python3")
        .arg("-S")
        .arg(&path)
        .arg(BOOTSTRAP)
        .current_dir(dir)
        .output()
        .expect("python3 is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "python failed:\n{text}");
    text
}

/// Loading the runtime and the SeBS wrapper and serving a request imports neither json nor re.
#[test]
fn cold_path_imports_neither_json_nor_re() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(HANDLER, dir.path().join("handler.py")).unwrap();
    std::fs::create_dir(dir.path().join("function")).unwrap();
    std::fs::write(dir.path().join("function/__init__.py"), "").unwrap();
    std::fs::write(
        dir.path().join("function/function.py"),
        "def handler(event):\n    return {'got': event}\n",
    )
    .unwrap();
    let out = run_python(
        dir.path(),
        r#"import sys
sys.path.insert(0, ".")
module = sys.modules["sebs_bootstrap"] = type(sys)("sebs_bootstrap")
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), module.__dict__)
ns = module.__dict__
import handler

class Ctx:
    aws_request_id = "r1"

event = {"requestContext": {}, "body": '{"n": 1}'}
reply = ns["json_loads"](ns["json_dumps"](handler.handler(event, Ctx())))
assert reply["statusCode"] == 200, reply
body = ns["json_loads"](reply["body"])
assert body["result"] == {"got": {"n": 1, "request-id": "r1", "income-timestamp": body["result"]["got"]["income-timestamp"]}}, body
print("imported:", sorted(m for m in ("json", "re", "enum") if m in sys.modules))
"#,
    );
    assert!(out.contains("imported: []"), "{out}");
}

/// Output and errors are those of json.dumps and json.loads with their defaults.
#[test]
fn codec_matches_the_json_module() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_python(
        dir.path(),
        r#"import sys
module = sys.modules["sebs_bootstrap"] = type(sys)("sebs_bootstrap")
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), module.__dict__)
ns = module.__dict__
dumps, loads = ns["json_dumps"], ns["json_loads"]
assert "json" not in sys.modules and dumps.__module__ != "json", "fell back to the json module"
import json

class S(str):
    pass

class Opaque:
    pass

values = [None, True, 1, -0.0, 1e300, 2**70, "\u00e9\u2028\x00", S("sub"), [], {}, (1, 2),
          {"a": {"b": [1, 2.5, None]}}, {1: 2, 2.5: "x", None: 1, True: 0}, float("nan"),
          float("inf"), "x" * 1000, {"k": S("v")}]
for v in values:
    assert dumps(v) == json.dumps(v), (v, dumps(v), json.dumps(v))
for bad in [Opaque(), {"a": Opaque()}, {(1, 2): 1}, {"a": {1, 2}}]:
    try:
        json.dumps(bad)
    except TypeError as e:
        expected = str(e)
    try:
        dumps(bad)
        raise AssertionError(bad)
    except TypeError as e:
        assert str(e) == expected, (e, expected)
loop = []
loop.append(loop)
try:
    dumps(loop)
    raise AssertionError("circular")
except ValueError as e:
    assert "Circular" in str(e)

def outcome(f, t):
    try:
        return ("ok", repr(f(t)))
    except Exception as e:
        return ("error", type(e).__name__, str(e))

texts = ['{}', ' {"a": [1, 2.5, -3e2, null, true, false, "\\u00e9"]} \n', '"x"', '1', 'NaN',
         '-Infinity', '[1,2]', '  "\u00e9"', b'{"a": 1}', '\ufeff{}'.encode(), '\ufeff{}',
         '{"a": 1}'.encode("utf-16"), b'\xff', '{"a": 1} x', '', ' ', '{"a":', bytearray(b'[1]'),
         '[1]\x00', '{"a":"\x01"}', None]
for t in texts:
    assert outcome(loads, t) == outcome(json.loads, t), (t, outcome(loads, t), outcome(json.loads, t))
print("codec ok")
"#,
    );
    assert!(out.contains("codec ok"), "{out}");
}
