//! The profilers shipped in every package (runtimes/python/faas_profiler_python.py,
//! runtimes/nodejs/faas_profiler.js) on known workloads: an allocation shows in the peak, a
//! CPU-bound loop in the utilisation, the trace context is continued or started, the instance's
//! cold/warm state is followed, outbound HTTP is captured with our `traceparent`, and the SeBS
//! wrappers return the profile (and nothing when the function is not profiled).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn runtimes(language: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../runtimes")
        .join(language)
}

/// Run a Python script with the runtime on its path; its last line of output is JSON.
fn python(script: &str) -> Value {
    run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .env("PYTHONPATH", runtimes("python"))
        .env_remove("SEBS_PROFILE")
        .env_remove("SEBS_PROFILE_INTERVAL_MS"))
}

fn node(script: &str) -> Value {
    run(Command::new("node")
        .arg("-e")
        .arg(script)
        .current_dir(runtimes("nodejs"))
        .env_remove("NODE_OPTIONS")
        .env_remove("SEBS_PROFILE"))
}

fn run(command: &mut Command) -> Value {
    let out = command.output().expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!("{e}: {stdout}");
    })
}

const MIB: f64 = 1048576.0;

#[test]
fn python_peak_memory_covers_an_allocation_and_is_reset_per_invocation() {
    let v = python(
        r#"
import json, faas_profiler_python as fp
@fp.profile(interval=0.005)
def f(event):
    if event.get("mb"):
        block = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        del block
    return 1
f({"mb": 64}); big = fp.take()
f({}); small = fp.take()
print(json.dumps({"big": big, "small": small}))
"#,
    );
    let mem = |k: &str, f: &str| v[k]["memory"][f].as_f64().unwrap();
    assert_eq!(v["big"]["memory"]["peak_source"], "VmHWM");
    assert!(mem("big", "peak_bytes") >= 64.0 * MIB, "{v}");
    assert!(
        mem("big", "peak_bytes") - mem("big", "rss_start_bytes") >= 63.0 * MIB,
        "{v}"
    );
    // The next invocation allocates nothing: its peak is its own, not the previous one's.
    assert!(
        mem("small", "peak_bytes") < mem("big", "peak_bytes") - 32.0 * MIB,
        "{v}"
    );
}

#[test]
fn python_cpu_bound_loop_uses_about_one_core() {
    // The reference is measured independently around the call (getrusage and a monotonic
    // clock): on an idle machine both are ~1.0; on a loaded one both drop together.
    let v = python(
        r#"
import json, resource, time, faas_profiler_python as fp
@fp.profile(interval=0.01)
def spin(event):
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.perf_counter()
spin({})
c1, t1 = cpu(), time.perf_counter()
p = fp.take()
print(json.dumps({"p": p, "ref": (c1 - c0) / (t1 - t0), "cpu": c1 - c0}))
"#,
    );
    let util = v["p"]["cpu_utilisation"].as_f64().unwrap();
    let reference = v["ref"].as_f64().unwrap();
    println!("CPU utilisation: profiler {util}, reference {reference}");
    assert!(v["p"]["cpu_s"].as_f64().unwrap() >= 0.4, "{v}");
    assert!((util - reference).abs() < 0.1, "{v}");
    assert!(util <= 1.1, "one thread cannot use more than a core: {v}");
    let samples = v["p"]["samples"].as_array().unwrap();
    assert!(!samples.is_empty(), "{v}");
    assert!(
        samples
            .iter()
            .all(|s| (0.0..=1.5).contains(&s[1].as_f64().unwrap())),
        "{v}"
    );
}

#[test]
fn python_samples_from_the_main_thread_and_from_others() {
    // The main thread samples from SIGALRM, any other thread from a sampler thread; a function
    // shorter than the interval is not sampled at all.
    let v = python(
        r#"
import json, threading, time, faas_profiler_python as fp
@fp.profile(interval=0.01)
def spin(event):
    end = time.perf_counter() + event["s"]
    while time.perf_counter() < end:
        pass
out = {}
spin({"s": 0.15}); out["main"] = fp.take()
t = threading.Thread(target=spin, args=({"s": 0.15},)); t.start(); t.join()
out["thread"] = fp.take()
spin({"s": 0.001}); out["short"] = fp.take()
out["sampler_thread"] = any(t.name == "faas-profiler-sampler" for t in threading.enumerate())
print(json.dumps(out))
"#,
    );
    for k in ["main", "thread"] {
        let n = v[k]["samples"].as_array().unwrap().len();
        assert!((2..=40).contains(&n), "{k}: {n} samples: {v}");
        let offsets: Vec<f64> = v[k]["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[0].as_f64().unwrap())
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{v}");
    }
    assert_eq!(v["short"]["samples"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["sampler_thread"], true);
}

#[test]
fn python_trace_context_is_continued_or_started_and_instance_state_followed() {
    let v = python(
        r#"
import json, faas_profiler_python as fp
@fp.profile(interval=0)
def f(event):
    return fp.traceparent()
out = []
for event in ({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
              {"traceparent": "garbage"}, {}):
    tp = f(event)
    out.append({"p": fp.take(), "tp": tp})
print(json.dumps(out))
"#,
    );
    let first = &v[0]["p"];
    assert_eq!(first["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(first["parent_span_id"], "b7ad6b7169203331");
    assert_eq!(
        v[0]["tp"],
        format!(
            "00-0af7651916cd43dd8448eb211c80319c-{}-01",
            first["span_id"].as_str().unwrap()
        )
    );
    assert_eq!(v[1]["p"]["parent_span_id"], Value::Null);
    assert_ne!(v[1]["p"]["trace_id"], v[2]["p"]["trace_id"]);
    assert_eq!(first["instance"]["cold"], true);
    assert_eq!(v[1]["p"]["instance"]["cold"], false);
    assert_eq!(v[2]["p"]["instance"]["invocation"], 3);
    assert!(v[2]["p"]["instance"]["warm_for_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v[2]["p"]["samples"].as_array().unwrap().len(), 0);
}

#[test]
fn python_outbound_http_is_captured_and_carries_the_trace_context() {
    // urllib goes through http.client's request(); urllib3 (under requests and botocore) has a
    // request() of its own that only shares putrequest/putheader/endheaders/getresponse.
    let v = python(
        r#"
import http.server, json, threading, urllib.request, faas_profiler_python as fp
try:
    import urllib3
except ImportError:
    urllib3 = None
seen = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        seen.append(self.headers.get_all("traceparent"))
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"x" * 1000
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/x" % server.server_port
OWN = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
@fp.profile(interval=0)
def f(event):
    urllib.request.urlopen(urllib.request.Request(url, data=b"a" * 123)).read()
    if urllib3 is not None:
        pool = urllib3.PoolManager()
        pool.request("POST", url, body=b"b" * 45)
        pool.request("POST", url, body=b"c", headers={"traceparent": OWN})
f({})
print(json.dumps({"p": fp.take(), "seen": seen, "urllib3": urllib3 is not None}))
"#,
    );
    let captures = v["p"]["captures"].as_array().unwrap();
    let trace = v["p"]["trace_id"].as_str().unwrap();
    let ours = |c: &Value| format!("00-{trace}-{}-01", c["span_id"].as_str().unwrap());
    let c = &captures[0];
    assert_eq!(c["kind"], "http");
    assert_eq!(c["operation"], "POST");
    assert_eq!(c["status"], 200);
    assert_eq!(c["request_bytes"], 123);
    assert_eq!(c["response_bytes"], 1000);
    assert_eq!(v["seen"][0], serde_json::json!([ours(c)]));
    if v["urllib3"] == false {
        println!("SKIPPED (part): urllib3 is not installed (python3 -m pip install urllib3)");
        assert_eq!(captures.len(), 1, "{v}");
        return;
    }
    assert_eq!(captures.len(), 3, "{v}");
    assert_eq!(captures[1]["request_bytes"], 45);
    assert_eq!(v["seen"][1], serde_json::json!([ours(&captures[1])]));
    // A caller's own traceparent is sent as it is, once.
    assert_eq!(
        v["seen"][2],
        serde_json::json!(["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
    );
}

#[test]
fn python_io_counters_count_what_the_function_wrote() {
    let v = python(
        r#"
import json, os, tempfile, faas_profiler_python as fp
@fp.profile(interval=0, io_counters=True)
def write(event):
    with tempfile.TemporaryFile() as f:
        f.write(b"x" * 300000)
        f.flush()
write({})
with_io = fp.take()
fp.profile(interval=0)(lambda event: None)({})
print(json.dumps({"io": with_io, "plain": fp.take()}))
"#,
    );
    let disk = &v["io"]["disk_io"];
    assert!(disk["wchar"].as_u64().unwrap() >= 300000, "{v}");
    assert!(disk["syscw"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["io"]["network_io"]["rx_bytes"].is_u64(), "{v}");
    // Off by default: block I/O only.
    let plain = v["plain"]["disk_io"].as_object().unwrap();
    assert_eq!(
        plain.keys().collect::<Vec<_>>(),
        ["read_bytes", "write_bytes"]
    );
}

#[test]
fn python_failures_are_recorded_and_disabled_profiling_is_a_plain_call() {
    let v = python(
        r#"
import json, os, faas_profiler_python as fp
@fp.profile(interval=0)
def bad(event):
    raise ValueError("no")
try:
    bad({})
except ValueError:
    pass
failed = fp.take()
def plain(event):
    return 1
same = fp.profile(enabled=False)(plain) is plain
os.environ["SEBS_PROFILE"] = "0"
same_env = fp.profile()(plain) is plain
print(json.dumps({"failed": failed, "same": same, "same_env": same_env, "after": fp.take()}))
"#,
    );
    assert_eq!(v["failed"]["error"], "ValueError: no");
    assert_eq!(v["same"], true);
    assert_eq!(v["same_env"], true);
    assert_eq!(v["after"], Value::Null);
}

/// A package laid out as sebs builds it: the wrapper and the profiler at the root.
fn python_package(dir: &Path, function: &str) {
    std::fs::create_dir_all(dir.join("function")).unwrap();
    std::fs::write(dir.join("handler.py"), sebs_build::PYTHON_HANDLER).unwrap();
    let (name, source) = sebs_build::PYTHON_PROFILER;
    std::fs::write(dir.join(name), source).unwrap();
    std::fs::write(dir.join("function/__init__.py"), "").unwrap();
    std::fs::write(dir.join("function/function.py"), function).unwrap();
}

#[test]
fn python_wrapper_returns_the_profile_only_for_profiled_functions() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import handler
class Ctx: aws_request_id = "req-1"
http_event = {"requestContext": {}, "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, "body": "{}"}
print(json.dumps(json.loads(handler.handler(http_event, Ctx())["body"])))
"#;
    let call = |dir: &Path| {
        run(Command::new("python3")
            .args(["-c", script])
            .arg(dir)
            .env_remove("SEBS_PROFILE"))
    };
    let profiled = tmp.path().join("profiled");
    python_package(
        &profiled,
        "import faas_profiler_python as fp\n\n@fp.profile()\ndef handler(event):\n    return 7\n",
    );
    let body = call(&profiled);
    assert_eq!(body["result"], 7);
    assert_eq!(body["profile"]["request_id"], "req-1");
    assert_eq!(
        body["profile"]["trace_id"],
        "0af7651916cd43dd8448eb211c80319c"
    );
    let plain = tmp.path().join("plain");
    python_package(&plain, "def handler(event):\n    return 7\n");
    let body = call(&plain);
    assert_eq!(body["result"], 7);
    assert!(body.get("profile").is_none(), "{body}");
}

#[test]
fn nodejs_profiler_measures_peak_and_continues_the_trace() {
    let v = node(
        r#"
const fp = require('./faas_profiler');
const f = fp.profile({ interval: 0.005 })(async (event) => {
  if (event.mb) { const b = Buffer.alloc(event.mb * 1024 * 1024, 1); b[0] = 2; }
  await new Promise((r) => setTimeout(r, 30));
  return fp.traceparent();
});
(async () => {
  const tp = await f({ mb: 64, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  const big = fp.take();
  await f({});
  const small = fp.take();
  console.log(JSON.stringify({ tp, big, small }));
})();
"#,
    );
    let big = &v["big"];
    assert_eq!(big["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(big["parent_span_id"], "b7ad6b7169203331");
    assert!(
        v["tp"]
            .as_str()
            .unwrap()
            .contains(big["span_id"].as_str().unwrap())
    );
    assert!(
        big["memory"]["peak_bytes"].as_f64().unwrap() >= 64.0 * MIB,
        "{v}"
    );
    assert!(!big["samples"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(big["instance"]["cold"], true);
    assert_eq!(v["small"]["instance"]["cold"], false);
    assert_ne!(v["small"]["trace_id"], big["trace_id"]);
}
