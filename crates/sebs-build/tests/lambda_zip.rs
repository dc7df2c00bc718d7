//! AWS Lambda packages of catalogue benchmarks: dependencies for the target architecture (not
//! the host's), the zip's layout, its determinism, and that an x86_64 zip runs with nothing but
//! the zip on the import path, as Lambda's Python runtime runs it. Needs PyPI and the npm
//! registry (or their caches).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sebs_build::{BuildRequest, Package, ZipArchive, build, zip_package};
use sebs_core::cache::Cache;
use sebs_core::catalogue::{Benchmark, Catalogue};
use sebs_core::config::{Architecture, Language};
use sebs_core::node::NodeInterpreter;
use sebs_core::python::PythonInterpreter;

fn catalogue_benchmark(id: &str) -> Benchmark {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks");
    Catalogue::open(&root).unwrap().find(id).unwrap()
}

fn host_python() -> PythonInterpreter {
    sebs_core::python::find(None).expect("python3 with pip is needed for these tests")
}

/// Build `benchmark` for `aws` on `architecture`, logging how long it took.
fn build_for_aws(
    cache: &Cache,
    benchmark: &Benchmark,
    language: Language,
    python: &PythonInterpreter,
    node: Option<&NodeInterpreter>,
    architecture: Architecture,
) -> Package {
    let started = Instant::now();
    let package = build(
        cache,
        &BuildRequest {
            benchmark,
            language,
            python,
            node,
            platform: "aws",
            architecture,
            force: false,
        },
    )
    .unwrap_or_else(|e| panic!("{} for aws/{architecture:?}: {e:#}", benchmark.id));
    eprintln!(
        "built {} {language} for aws/{} in {:.1?}",
        benchmark.id,
        architecture.as_str(),
        started.elapsed()
    );
    package
}

/// The zip's entries: name → (unix mode, contents).
fn read_zip(archive: &ZipArchive) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(File::open(&archive.path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).unwrap();
        out.insert(
            entry.name().unwrap().into_owned(),
            (entry.unix_mode().unwrap(), contents),
        );
    }
    out
}

/// The ELF machine of a shared object: 0x3e for x86_64, 0xb7 for aarch64.
fn elf_machine(contents: &[u8]) -> u16 {
    assert_eq!(&contents[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([contents[18], contents[19]])
}

/// Every file of the package is in the zip with its executable bit.
fn assert_modes_follow_the_package(package: &Package, entries: &BTreeMap<String, (u32, Vec<u8>)>) {
    let mut executables = 0;
    for (name, (mode, _)) in entries {
        let path = package.dir.join(name.trim_end_matches('/'));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            assert_eq!(mode & 0o170000, 0o120000, "{name} is a link");
        } else if meta.is_dir() {
            assert_eq!(*mode, 0o040755, "{name}");
        } else if meta.permissions().mode() & 0o111 != 0 {
            executables += 1;
            assert_eq!(*mode, 0o100755, "{name} stays executable");
        } else {
            assert_eq!(*mode, 0o100644, "{name}");
        }
    }
    let names: Vec<&String> = entries.keys().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    eprintln!("{} entries, {executables} executable", entries.len());
}

#[test]
fn python_zips_carry_wheels_of_the_target_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let benchmark = catalogue_benchmark("210.thumbnailer");
    let python = host_python();
    let mut hashes = Vec::new();
    for (architecture, machine, elf) in [
        (Architecture::X64, "x86_64", 0x3e),
        (Architecture::Arm64, "aarch64", 0xb7),
    ] {
        let package = build_for_aws(
            &cache,
            &benchmark,
            Language::Python,
            &python,
            None,
            architecture,
        );
        let path = package.dir.to_string_lossy().into_owned();
        assert!(
            path.contains(&format!(
                "/aws/python/code_package/default/{}/",
                python.version
            )) && path.contains(&format!("/{}/builds/", architecture.as_str())),
            "{path}"
        );
        hashes.push(package.hash.clone());
        let archive = zip_package(&package).unwrap();
        assert!(!archive.needs_s3_upload());
        let entries = read_zip(&archive);
        for name in [
            "handler.py",
            "function/",
            "function/__init__.py",
            "function/function.py",
            "function/storage.py",
            "function/_sigv4.py",
            "PIL/__init__.py",
        ] {
            assert!(entries.contains_key(name), "{name} in the {machine} zip");
        }
        assert!(
            entries.contains_key(&format!(
                "function/__pycache__/function.cpython-{}.pyc",
                python.version.replace('.', "")
            )),
            "byte-compiled: the host's Python is the target's"
        );
        let (_, wheel) = entries
            .iter()
            .find(|(name, _)| name.starts_with("pillow-") && name.ends_with(".dist-info/WHEEL"))
            .expect("Pillow's dist-info at the root");
        let tags: Vec<&str> = std::str::from_utf8(&wheel.1)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("Tag: "))
            .collect();
        assert!(!tags.is_empty());
        for tag in &tags {
            assert!(
                tag.contains("manylinux") && tag.ends_with(&format!("_{machine}")),
                "wheel tag {tag} for {machine}"
            );
        }
        let (name, (_, imaging)) = entries
            .iter()
            .find(|(name, _)| name.starts_with("PIL/_imaging.") && name.ends_with(".so"))
            .expect("Pillow's C extension");
        assert_eq!(elf_machine(imaging), elf, "{name} is built for {machine}");
        assert_modes_follow_the_package(&package, &entries);
    }
    assert_ne!(hashes[0], hashes[1], "the architecture is in the hash");
}

#[test]
fn python_for_another_version_gets_its_wheels_and_no_host_bytecode() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let benchmark = catalogue_benchmark("110.dynamic-html");
    let host = host_python();
    let other = if host.version == "3.12" {
        "3.13"
    } else {
        "3.12"
    };
    let target = PythonInterpreter {
        version: other.into(),
        ..host.clone()
    };
    let package = build_for_aws(
        &cache,
        &benchmark,
        Language::Python,
        &target,
        None,
        Architecture::X64,
    );
    let entries = read_zip(&zip_package(&package).unwrap());
    assert!(entries.contains_key("jinja2/__init__.py"));
    assert!(
        !entries.keys().any(|name| name.ends_with(".pyc")),
        "no .pyc of the host's Python {} for a Python {other} target",
        host.version
    );
    let abi = format!("cp{}", other.replace('.', ""));
    let (_, wheel) = entries
        .iter()
        .find(|(name, _)| name.starts_with("markupsafe-") && name.ends_with(".dist-info/WHEEL"))
        .or_else(|| {
            entries.iter().find(|(name, _)| {
                name.starts_with("MarkupSafe-") && name.ends_with(".dist-info/WHEEL")
            })
        })
        .expect("MarkupSafe, Jinja2's dependency");
    let wheel = String::from_utf8_lossy(&wheel.1);
    assert!(
        wheel.contains(&format!("Tag: {abi}-{abi}-manylinux")),
        "{wheel}"
    );
}

#[test]
fn node_zips_carry_sharp_for_the_target_architecture() {
    let Some(node) = sebs_core::node::find(None).ok() else {
        panic!("Node.js 20 with npm is needed for this test");
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let benchmark = catalogue_benchmark("210.thumbnailer");
    let python = host_python();
    for (architecture, present, absent) in [
        (Architecture::X64, "linux-x64", "linux-arm64"),
        (Architecture::Arm64, "linux-arm64", "linux-x64"),
    ] {
        let package = build_for_aws(
            &cache,
            &benchmark,
            Language::Nodejs,
            &python,
            Some(&node),
            architecture,
        );
        let archive = zip_package(&package).unwrap();
        let entries = read_zip(&archive);
        for name in [
            "handler.js".to_owned(),
            "package.json".to_owned(),
            "package-lock.json".to_owned(),
            "function/function.js".to_owned(),
            "node_modules/sharp/package.json".to_owned(),
            format!("node_modules/@img/sharp-{present}/package.json"),
            format!("node_modules/@img/sharp-libvips-{present}/package.json"),
        ] {
            assert!(entries.contains_key(&name), "{name} in the {present} zip");
        }
        for name in entries.keys() {
            assert!(
                !name.contains(&format!("@img/sharp-{absent}/"))
                    && !name.contains("linuxmusl")
                    && !name.contains("darwin"),
                "{name} is not for {present}"
            );
        }
        assert_modes_follow_the_package(&package, &entries);

        // npm's install, redone into a new build directory, gives the same zip.
        let rebuilt = build(
            &cache,
            &BuildRequest {
                benchmark: &benchmark,
                language: Language::Nodejs,
                python: &python,
                node: Some(&node),
                platform: "aws",
                architecture,
                force: true,
            },
        )
        .unwrap();
        assert_ne!(rebuilt.dir, package.dir);
        assert_eq!(
            zip_package(&rebuilt).unwrap().sha256_base64,
            archive.sha256_base64,
            "a rebuild of the same sources gives the same zip"
        );
    }
}

#[test]
fn the_zip_is_cached_and_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let benchmark = catalogue_benchmark("110.dynamic-html");
    let python = host_python();
    let package = build_for_aws(
        &cache,
        &benchmark,
        Language::Python,
        &python,
        None,
        Architecture::X64,
    );
    let started = Instant::now();
    let first = zip_package(&package).unwrap();
    eprintln!("zipped {} bytes in {:.1?}", first.size, started.elapsed());
    assert_eq!(first.size, std::fs::metadata(&first.path).unwrap().len());
    assert_eq!(
        first.path,
        PathBuf::from(format!("{}.zip", package.dir.display()))
    );
    let written = std::fs::metadata(&first.path).unwrap().modified().unwrap();

    let again = zip_package(&package).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        std::fs::metadata(&again.path).unwrap().modified().unwrap(),
        written,
        "a second call reuses the zip"
    );

    std::fs::remove_file(&first.path).unwrap();
    let rezipped = zip_package(&package).unwrap();
    assert_eq!(
        rezipped.sha256_base64, first.sha256_base64,
        "the same package gives the same zip"
    );

    // A forced rebuild installs and compiles everything again, in a new directory, at other
    // times: the zip is the same.
    let rebuilt = build(
        &cache,
        &BuildRequest {
            benchmark: &benchmark,
            language: Language::Python,
            python: &python,
            node: None,
            platform: "aws",
            architecture: Architecture::X64,
            force: true,
        },
    )
    .unwrap();
    assert_ne!(rebuilt.dir, package.dir);
    let reproduced = zip_package(&rebuilt).unwrap();
    assert_ne!(reproduced.path, first.path);
    let (before, after) = (read_zip(&first), read_zip(&reproduced));
    let differing: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|name| before.get(*name) != after.get(*name))
        .collect();
    assert!(differing.is_empty(), "differ between builds: {differing:?}");
    assert_eq!(
        reproduced.sha256_base64, first.sha256_base64,
        "the same sources give the same zip"
    );
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(&reproduced.path).unwrap();
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            sha2::Sha256::digest(&bytes),
        )
    };
    assert_eq!(digest, reproduced.sha256_base64, "Lambda's CodeSha256");
}

#[test]
fn an_x86_64_zip_runs_with_only_itself_on_the_import_path() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::new(tmp.path().join("cache"));
    let benchmark = catalogue_benchmark("110.dynamic-html");
    let python = host_python();
    assert_eq!(
        sebs_core::config::Architecture::host(),
        Some(Architecture::X64),
        "this test runs the x86_64 zip"
    );
    let package = build_for_aws(
        &cache,
        &benchmark,
        Language::Python,
        &python,
        None,
        Architecture::X64,
    );
    let archive = zip_package(&package).unwrap();
    let task_root = tmp.path().join("task");
    zip::ZipArchive::new(File::open(&archive.path).unwrap())
        .unwrap()
        .extract(&task_root)
        .unwrap();
    let cwd = tmp.path().join("cwd");
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let script = r#"
import json, sys
import handler, jinja2, markupsafe

class Context:
    aws_request_id = "req-1"
    function_name = "sebs-110"

response = handler.handler({"username": "lambda", "random_len": 3}, Context())
print(json.dumps({
    "response": response,
    "jinja2": jinja2.__file__,
    "markupsafe": markupsafe.__file__,
    "site": "site" in sys.modules,
}))
"#;
    // No site-packages (-S), no user site (-s), no inherited environment: only the task root
    // and the standard library are importable, as on Lambda without its runtime's packages.
    let out = Command::new(&python.path)
        .args(["-S", "-s", "-c", script])
        .env_clear()
        .env("PYTHONPATH", &task_root)
        .env("TMPDIR", &scratch)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["site"], false);
    for module in ["jinja2", "markupsafe"] {
        let file = printed[module].as_str().unwrap();
        assert!(
            Path::new(file).starts_with(&task_root),
            "{module} from {file}"
        );
    }
    assert_eq!(printed["response"]["statusCode"], 200);
    let body: serde_json::Value =
        serde_json::from_str(printed["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["request_id"], "req-1");
    assert_eq!(body["is_cold"], true);
    let page = body["result"]["result"].as_str().unwrap();
    assert!(page.contains("lambda"), "{page}");
}

#[test]
fn a_requirement_without_a_wheel_for_the_target_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("benchmarks");
    let dir = root.join("g/1.sdist-only");
    std::fs::create_dir_all(dir.join("python")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"timeout": 5, "memory": 128, "languages": ["python"]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("input.py"), "").unwrap();
    std::fs::write(
        dir.join("python/function.py"),
        "def handler(event):\n    return {}\n",
    )
    .unwrap();
    // PyCrypto was only ever published as a source distribution.
    std::fs::write(dir.join("python/requirements.txt"), "pycrypto==2.6.1\n").unwrap();
    let benchmark = Catalogue::open(&root)
        .unwrap()
        .find("1.sdist-only")
        .unwrap();
    let python = host_python();
    let cache = Cache::new(tmp.path().join("cache"));
    let err = build(
        &cache,
        &BuildRequest {
            benchmark: &benchmark,
            language: Language::Python,
            python: &python,
            node: None,
            platform: "aws",
            architecture: Architecture::Arm64,
            force: false,
        },
    )
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("no binary wheel of `pycrypto==2.6.1`"),
        "{message}"
    );
    assert!(message.contains("aws/arm64"), "{message}");
    assert!(message.contains("pin a version"), "{message}");
}
