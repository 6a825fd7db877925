//! `istio --kustomize DIR` and the WasmPlugin's knobs: the committed
//! `deploy/istio/` is what the tool writes for the demo configuration;
//! `kubectl kustomize` renders it, and overlays that patch the WasmPlugin
//! (the test's own and those of `deploy/istio/README.md`), into objects that
//! pass Istio's CRD schemas (the strict checks of tests/istio_manifests.rs);
//! `--sha256`, `--image-pull-secret`, `--priority`, `--fail-strategy` and
//! `--target-ref` reach the WasmPlugin, and bad values are refused.
//!
//! kubectl renders offline: `KUBECTL`, else the kubectl on PATH, else the one
//! scripts/install-kubectl.sh installs. Without one the tests fail.

// Tests report by panicking.
#![allow(clippy::restriction)]

#[path = "../../tests/support/mod.rs"]
mod support;
mod tool;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::istio;
use tool::{data, run, Run, ScratchFile};

/// The files `--kustomize` writes.
const BASE_FILES: [&str; 4] = [
    "kustomization.yaml",
    "wasmplugin.yaml",
    "gateway.yaml",
    "virtualservices.yaml",
];

/// A checksum in the form the WasmPlugin's `sha256` takes.
const SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A kubectl whose `kubectl kustomize` works.
fn kubectl() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("KUBECTL") {
        Some(path) => vec![PathBuf::from(path)],
        None => vec![
            PathBuf::from("kubectl"),
            support::repo().join(".tools/kubectl/bin/kubectl"),
        ],
    };
    let works = |bin: &Path| {
        Command::new(bin)
            .args(["kustomize", "--help"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    candidates
        .iter()
        .find(|bin| works(bin))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no kubectl whose `kubectl kustomize` works (tried {candidates:?}): run scripts/install-kubectl.sh and set KUBECTL to the path it prints"
            )
        })
}

/// The objects `kubectl kustomize dir` renders.
fn kustomize(dir: &Path) -> Vec<Value> {
    let output = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("run kubectl kustomize");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}\n{stderr}",
        dir.display(),
        output.status
    );
    istio::documents(&stdout)
}

/// Every object passes the CRD schema of its kind, and the kinds are one
/// WasmPlugin, one Gateway and VirtualServices.
fn assert_valid(what: &str, documents: &[Value]) {
    for document in documents {
        let kind = document["kind"].as_str().unwrap_or_default();
        assert!(
            istio::crd_file(kind).is_some(),
            "{what}: {kind:?} has no vendored CRD"
        );
        let errors = istio::schema_violations(document);
        assert!(
            errors.is_empty(),
            "{what}: {kind} {}:\n{}",
            istio::namespaced_name(document),
            errors.join("\n")
        );
    }
    istio::only(documents, "WasmPlugin");
    istio::only(documents, "Gateway");
    assert!(
        !istio::all(documents, "VirtualService").is_empty(),
        "{what}: no VirtualService"
    );
}

/// The demo configuration, as istio/wasmplugin.yaml carries it, its fields
/// in their order there (the tool writes them in the order it reads them).
fn demo_config() -> ScratchFile {
    let path = support::repo().join("istio/wasmplugin.yaml");
    let plugin: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let json = serde_json::to_string_pretty(&plugin["spec"]["pluginConfig"]).unwrap();
    ScratchFile::new("demo.json", &json)
}

/// The text of the comment above the first document of a stream, its lines
/// joined.
fn first_comment(stream: &str) -> String {
    stream
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn deploy_istio() -> PathBuf {
    support::repo().join("deploy/istio")
}

/// The documents of a base's files, in the order kustomization.yaml lists
/// them.
fn base_documents(dir: &Path) -> Vec<Value> {
    BASE_FILES[1..]
        .iter()
        .flat_map(|file| istio::documents(&fs::read_to_string(dir.join(file)).unwrap()))
        .collect()
}

/// A copy of deploy/istio at `{dir}/deploy/istio`, so that an overlay at
/// `{dir}/NAME` finds it as `../deploy/istio`.
fn copy_base(dir: &Path) {
    let base = dir.join("deploy/istio");
    fs::create_dir_all(&base).unwrap();
    for file in BASE_FILES {
        fs::copy(deploy_istio().join(file), base.join(file)).unwrap();
    }
}

/// Writes an overlay `{dir}/{name}/kustomization.yaml`; returns its directory.
fn overlay(dir: &Path, name: &str, kustomization: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(&path).unwrap();
    fs::write(path.join("kustomization.yaml"), kustomization).unwrap();
    path
}

impl Run {
    fn ok(&self) -> &Run {
        assert_eq!(self.status, 0, "{self:?}");
        assert_eq!(self.stderr, "", "{self:?}");
        self
    }
}

// ------------------------------------------------------------------- tests

/// deploy/istio/ holds exactly what `knative-traffic istio DEMO --kustomize
/// DIR` writes, byte for byte, and nothing else but its README; its
/// documents are those of the YAML stream with `--with-gateway`.
#[test]
fn deploy_istio_is_what_the_tool_writes() {
    let config = demo_config();
    let dir = support::scratch_dir("kustomize");
    let out = dir.join("base");
    let r = run(&["istio", config.arg(), "--kustomize", out.to_str().unwrap()]);
    r.ok();
    let written: Vec<String> = [
        "wasmplugin.yaml",
        "gateway.yaml",
        "virtualservices.yaml",
        "kustomization.yaml",
    ]
    .iter()
    .map(|file| format!("wrote {}\n", out.join(file).display()))
    .collect();
    assert_eq!(r.stdout, written.concat());

    let mut committed: Vec<String> = fs::read_dir(deploy_istio())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    committed.sort();
    let mut want: Vec<String> = BASE_FILES.iter().map(|f| (*f).to_owned()).collect();
    want.push("README.md".into());
    want.sort();
    assert_eq!(committed, want, "deploy/istio/ holds other files");
    let mut tool_files: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    tool_files.sort();
    let mut base_files: Vec<String> = BASE_FILES.iter().map(|f| (*f).to_owned()).collect();
    base_files.sort();
    assert_eq!(tool_files, base_files);
    for file in BASE_FILES {
        assert_eq!(
            fs::read_to_string(deploy_istio().join(file)).unwrap(),
            fs::read_to_string(out.join(file)).unwrap(),
            "deploy/istio/{file} is stale: regenerate deploy/istio as its README says"
        );
    }

    // The same manifests as the stream, from the same code: the WasmPlugin
    // and VirtualService of istio/ among them.
    let streamed = run(&["istio", config.arg(), "--with-gateway"]);
    let streamed = istio::documents(&streamed.ok().stdout);
    let base = base_documents(&deploy_istio());
    assert_eq!(base.len(), streamed.len());
    for kind in ["WasmPlugin", "Gateway", "VirtualService"] {
        assert_eq!(
            istio::all(&base, kind),
            istio::all(&streamed, kind),
            "{kind}"
        );
    }
    assert_eq!(streamed[0], istio::wasm_plugin());
    assert_eq!(streamed[1], istio::virtual_service());

    let kustomization = fs::read_to_string(deploy_istio().join("kustomization.yaml")).unwrap();
    assert!(
        kustomization.starts_with("# A kustomize base for `kubectl apply -k DIR`, written by `knative-traffic\n# istio --kustomize`"),
        "{kustomization}"
    );
    assert!(
        kustomization.contains("\n#   knative-traffic istio FILE --kustomize DIR\n"),
        "{kustomization}"
    );
}

/// `kubectl kustomize deploy/istio` renders the three manifests unchanged
/// (but for the order of keys), and each passes its CRD's schema.
#[test]
fn the_base_renders_and_passes_istios_schemas() {
    let rendered = kustomize(&deploy_istio());
    assert_valid("deploy/istio", &rendered);
    let committed = base_documents(&deploy_istio());
    assert_eq!(rendered.len(), committed.len());
    for document in &committed {
        assert!(
            rendered.contains(document),
            "kubectl kustomize changed or lost {} {}",
            document["kind"],
            istio::namespaced_name(document)
        );
    }
    let plugin = istio::only(&rendered, "WasmPlugin");
    assert_eq!(
        plugin["spec"]["pluginConfig"],
        istio::wasm_plugin()["spec"]["pluginConfig"]
    );
}

/// Overlays that set the WasmPlugin's url, sha256, imagePullSecret, priority
/// and failStrategy, by a JSON 6902 patch and by a strategic-merge patch,
/// render into a WasmPlugin with those values that passes the schema; the
/// other objects are the base's.
#[test]
fn overlays_patch_the_wasm_plugin() {
    let dir = support::scratch_dir("overlay");
    copy_base(&dir);
    let url = "oci://registry.corp.example/team/knative-traffic:0.2.0";
    let json6902 = overlay(
        &dir,
        "json6902",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../deploy/istio
patches:
- target:
    group: extensions.istio.io
    version: v1alpha1
    kind: WasmPlugin
    name: knative-traffic
  patch: |-
    - op: replace
      path: /spec/url
      value: {url}
    - op: add
      path: /spec/sha256
      value: {SHA256}
    - op: add
      path: /spec/imagePullSecret
      value: registry-credentials
    - op: add
      path: /spec/priority
      value: 10
    - op: replace
      path: /spec/failStrategy
      value: FAIL_OPEN
"
        ),
    );
    let merge = overlay(
        &dir,
        "merge",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../deploy/istio
patches:
- patch: |-
    apiVersion: extensions.istio.io/v1alpha1
    kind: WasmPlugin
    metadata:
      name: knative-traffic
      namespace: istio-system
    spec:
      url: {url}
      sha256: {SHA256}
      imagePullSecret: registry-credentials
      priority: 10
      failStrategy: FAIL_OPEN
"
        ),
    );
    let base = base_documents(&deploy_istio());
    for overlay in [json6902, merge] {
        let what = overlay.display().to_string();
        let rendered = kustomize(&overlay);
        assert_valid(&what, &rendered);
        let plugin = istio::only(&rendered, "WasmPlugin");
        let mut want = istio::only(&base, "WasmPlugin").clone();
        want["spec"]["url"] = json!(url);
        want["spec"]["sha256"] = json!(SHA256);
        want["spec"]["imagePullSecret"] = json!("registry-credentials");
        want["spec"]["priority"] = json!(10);
        want["spec"]["failStrategy"] = json!("FAIL_OPEN");
        assert_eq!(plugin, &want, "{what}");
        for document in base.iter().filter(|d| d["kind"] != "WasmPlugin") {
            assert!(rendered.contains(document), "{what}: {document}");
        }
    }

    // A patch the schema refuses is caught: the validation is real.
    let bad = overlay(
        &dir,
        "bad",
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../deploy/istio
patches:
- target: {kind: WasmPlugin, name: knative-traffic}
  patch: |-
    - op: add
      path: /spec/sha256
      value: sha256:0123
",
    );
    let rendered = kustomize(&bad);
    let errors = istio::schema_violations(istio::only(&rendered, "WasmPlugin"));
    assert!(
        errors.iter().any(|e| e.contains("/spec/sha256")),
        "{errors:?}"
    );
}

/// The overlays deploy/istio/README.md shows render and pass the schemas,
/// each setting the five fields it names.
#[test]
fn the_readmes_overlays_render() {
    let readme = fs::read_to_string(deploy_istio().join("README.md")).unwrap();
    let overlays: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .filter(|block| block.contains("kind: Kustomization"))
        .collect();
    assert_eq!(overlays.len(), 2, "the README's overlays");
    let dir = support::scratch_dir("readme-overlay");
    copy_base(&dir);
    let base = base_documents(&deploy_istio());
    let base_plugin = istio::only(&base, "WasmPlugin");
    for (i, text) in overlays.iter().enumerate() {
        let what = format!("deploy/istio/README.md overlay {}", i + 1);
        let rendered = kustomize(&overlay(&dir, &format!("my-cluster-{i}"), text));
        assert_valid(&what, &rendered);
        let spec = &istio::only(&rendered, "WasmPlugin")["spec"];
        assert_ne!(spec["url"], base_plugin["spec"]["url"], "{what}");
        for field in ["sha256", "imagePullSecret", "priority"] {
            assert!(!spec[field].is_null(), "{what}: no {field}");
        }
        assert!(!spec["failStrategy"].is_null(), "{what}");
        assert_eq!(spec["pluginConfig"], base_plugin["spec"]["pluginConfig"]);
    }
}

/// The WasmPlugin options reach the WasmPlugin, in the stream and in a
/// base, which names them in its header: running the command the header
/// gives writes the same base again. Unset, none of the fields is written.
#[test]
fn the_wasm_plugin_options() {
    let defaults = istio::documents(&run(&["istio", "seeds.json"]).ok().stdout);
    let spec = &istio::only(&defaults, "WasmPlugin")["spec"];
    for field in ["sha256", "imagePullSecret", "priority", "targetRefs"] {
        assert!(spec[field].is_null(), "{field} is written unasked");
    }
    assert_eq!(spec["failStrategy"], "FAIL_CLOSE");

    let sha256 = format!("sha256:{}", SHA256.to_ascii_uppercase());
    let options: [&str; 8] = [
        "--sha256",
        &sha256,
        "--image-pull-secret",
        "registry-credentials",
        "--priority",
        "-5",
        "--fail-strategy",
        "FAIL_OPEN",
    ];
    let mut args = vec!["istio", "seeds.json"];
    args.extend(options);
    let documents = istio::documents(&run(&args).ok().stdout);
    let plugin = istio::only(&documents, "WasmPlugin");
    let spec = &plugin["spec"];
    assert_eq!(spec["sha256"], SHA256);
    assert_eq!(spec["imagePullSecret"], "registry-credentials");
    assert_eq!(spec["priority"], -5);
    assert_eq!(spec["failStrategy"], "FAIL_OPEN");
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"istio": "ingressgateway"}})
    );
    let errors = istio::schema_violations(plugin);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let comment = first_comment(&run(&args).stdout);
    for text in [
        "It runs after Istio's authentication and authorization (phase STATS), and if it cannot be loaded, requests pass without it (FAIL_OPEN): nothing then removes a client's knative-serving-revision and x-knative-cluster headers, so a client can pick the route.",
        "priority -5 (higher runs first)",
        "the Secret registry-credentials of istio-system",
        "sha256",
    ] {
        assert!(comment.contains(text), "{text:?} not in the comment: {comment}");
    }
    let r = run(&["istio", "seeds.json", "--priority=2147483647"]);
    assert_eq!(
        istio::documents(&r.ok().stdout)[0]["spec"]["priority"],
        2147483647
    );

    // In a base, with the header naming every option given; the command it
    // gives writes the same files.
    let dir = support::scratch_dir("kustomize-options");
    let first = dir.join("first");
    let mut args = vec![
        "istio",
        "seeds.json",
        "--kustomize",
        first.to_str().unwrap(),
    ];
    args.extend(options);
    args.extend(["--port", "8080", "--image", "registry.corp.example/kt:2"]);
    run(&args).ok();
    let kustomization = fs::read_to_string(first.join("kustomization.yaml")).unwrap();
    let command: String = kustomization
        .lines()
        .skip_while(|l| !l.starts_with("#   knative-traffic istio "))
        .take_while(|l| *l != "#")
        .map(|l| l.trim_start_matches('#').trim_end_matches('\\'))
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "knative-traffic",
            "istio",
            "FILE",
            "--kustomize",
            "DIR",
            "--image",
            "oci://registry.corp.example/kt:2",
            "--port",
            "8080",
            "--sha256",
            SHA256,
            "--image-pull-secret",
            "registry-credentials",
            "--priority",
            "-5",
            "--fail-strategy",
            "FAIL_OPEN",
        ],
        "{kustomization}"
    );
    let again = dir.join("again");
    let args: Vec<&str> = words[1..]
        .iter()
        .map(|w| match *w {
            "FILE" => "seeds.json",
            "DIR" => again.to_str().unwrap(),
            w => w,
        })
        .collect();
    run(&args).ok();
    for file in BASE_FILES {
        assert_eq!(
            fs::read_to_string(first.join(file)).unwrap(),
            fs::read_to_string(again.join(file)).unwrap(),
            "{file}"
        );
    }
    let rendered = kustomize(&first);
    assert_valid("options", &rendered);
    assert_eq!(
        istio::only(&rendered, "WasmPlugin")["spec"]["sha256"],
        SHA256
    );
}

/// `--target-ref` writes targetRefs (each target once, with its kind's
/// group) and no selector, which the schema takes; the Gateway keeps its
/// selector. In a base too.
#[test]
fn target_refs_replace_the_selector() {
    let args = [
        "istio",
        "seeds.json",
        "--with-gateway",
        "--target-ref",
        "Gateway/public-gateway",
        "--target-ref",
        "GatewayClass/istio",
        "--target-ref",
        "Service/web",
        "--target-ref",
        "ServiceEntry/external.api",
        "--target-ref",
        "Gateway/public-gateway",
    ];
    let documents = istio::documents(&run(&args).ok().stdout);
    let plugin = istio::only(&documents, "WasmPlugin");
    assert!(plugin["spec"]["selector"].is_null(), "{plugin}");
    assert_eq!(
        plugin["spec"]["targetRefs"],
        json!([
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public-gateway"},
            {"group": "gateway.networking.k8s.io", "kind": "GatewayClass", "name": "istio"},
            {"group": "", "kind": "Service", "name": "web"},
            {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "external.api"}
        ])
    );
    for document in &documents {
        let errors = istio::schema_violations(document);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
    assert_eq!(
        istio::only(&documents, "Gateway")["spec"]["selector"],
        json!({"istio": "ingressgateway"})
    );
    let comment = first_comment(&run(&args).stdout);
    assert!(
        comment.starts_with("The knative-traffic filter in the proxies of Gateway public-gateway, GatewayClass istio, Service web, ServiceEntry external.api (targetRefs), with the configuration as pluginConfig."),
        "{comment}"
    );

    let dir = support::scratch_dir("kustomize-targets");
    let base = dir.join("base");
    run(&[
        "istio",
        "seeds.json",
        "--kustomize",
        base.to_str().unwrap(),
        "--target-ref",
        "Gateway/public-gateway",
    ])
    .ok();
    let rendered = kustomize(&base);
    assert_valid("targetRefs", &rendered);
    let spec = &istio::only(&rendered, "WasmPlugin")["spec"];
    assert!(spec["selector"].is_null(), "{spec}");
    assert_eq!(spec["targetRefs"][0]["kind"], "Gateway");
    assert!(fs::read_to_string(base.join("kustomization.yaml"))
        .unwrap()
        .contains("#     --target-ref Gateway/public-gateway\n"),);
}

#[test]
fn bad_option_values_are_usage_errors() {
    let too_many: Vec<String> = (0..17)
        .flat_map(|i| ["--target-ref".to_owned(), format!("Gateway/gw-{i}")])
        .collect();
    let mut seventeen = vec!["istio", "seeds.json"];
    seventeen.extend(too_many.iter().map(String::as_str));
    let long_hex = format!("{SHA256}0");
    let not_hex = "g".repeat(64);
    for (args, message) in [
        (
            &["istio", "seeds.json", "--sha256", "0123abcd"][..],
            "is not a SHA-256 checksum (64 hex digits",
        ),
        (
            &["istio", "seeds.json", "--sha256", long_hex.as_str()],
            "is not a SHA-256 checksum",
        ),
        (
            &["istio", "seeds.json", "--sha256", not_hex.as_str()],
            "is not a SHA-256 checksum",
        ),
        (
            &["istio", "seeds.json", "--image-pull-secret", "Registry_Credentials"],
            "is not a Secret name",
        ),
        (&["istio", "seeds.json", "--priority", "high"], "high"),
        (
            &["istio", "seeds.json", "--priority", "2147483648"],
            "2147483648",
        ),
        (
            &["istio", "seeds.json", "--fail-strategy", "FAIL_RELOAD"],
            "[possible values: FAIL_CLOSE, FAIL_OPEN]",
        ),
        (
            &["istio", "seeds.json", "--fail-strategy", "fail_close"],
            "fail_close",
        ),
        (
            &["istio", "seeds.json", "--target-ref", "public-gateway"],
            "is not KIND/NAME",
        ),
        (
            &["istio", "seeds.json", "--target-ref", "HTTPRoute/web"],
            "\"HTTPRoute\" is not a kind a WasmPlugin attaches to (Gateway, GatewayClass, Service or ServiceEntry)",
        ),
        (
            &["istio", "seeds.json", "--target-ref", "gateway/gw"],
            "is not a kind a WasmPlugin attaches to",
        ),
        (
            &["istio", "seeds.json", "--target-ref", "Service/web.shop"],
            "\"web.shop\" is not a Service name",
        ),
        (
            &["istio", "seeds.json", "--target-ref", "Gateway/"],
            "is not a Gateway name",
        ),
        (
            &[
                "istio",
                "seeds.json",
                "--target-ref",
                "Gateway/gw",
                "--selector",
                "app=gw",
            ],
            "cannot be used with",
        ),
        (&seventeen[..], "--target-ref: at most 16 targets"),
        (&["istio", "seeds.json", "--kustomize"], "--kustomize <DIR>"),
    ] {
        let r = run(args);
        assert_eq!(r.status, 2, "{args:?}: {r:?}");
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(r.stderr.contains(message), "{args:?}: {r:?}");
        assert!(r.stderr.contains("--help"), "{args:?}: {r:?}");
    }
}

/// What cannot be written fails with status 1 and says why: a base whose
/// Gateway would accept no host, a directory that cannot be made.
#[test]
fn a_base_that_cannot_be_written_fails() {
    let dir = support::scratch_dir("kustomize-fail");
    let only_local = ScratchFile::new(
        "only-local.json",
        &json!({"services": [
            {"name": "ledger", "namespace": "shop",
             "traffic": [{"revisionName": "ledger-1", "percent": 100}]}
        ]})
        .to_string(),
    );
    let out = dir.join("base");
    let r = run(&[
        "istio",
        only_local.arg(),
        "--kustomize",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.ends_with(&format!(
            "{}: --kustomize: every host of the configuration is cluster-local, so the Gateway would accept no host (Istio refuses a server without hosts)\n",
            only_local.arg()
        )),
        "{r:?}"
    );
    assert!(!out.exists(), "nothing is written");

    let file = dir.join("a-file");
    fs::write(&file, "").unwrap();
    let inside = file.join("base");
    let r = run(&[
        "istio",
        "seeds.json",
        "--kustomize",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(&format!(
            "{}: cannot create the directory: ",
            inside.display()
        )),
        "{r:?}"
    );
    // The tool's test documents are where the tool runs.
    assert!(data().join("seeds.json").exists());
}
