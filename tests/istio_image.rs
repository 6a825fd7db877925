//! The module as the OCI image Istio pulls, built for real
//! (`scripts/wasm-image.sh`, i.e. `docker build -f istio/Dockerfile dist`) and
//! read back with `docker save`: exactly one layer, holding exactly
//! `plugin.wasm`, byte-identical to the built module. That is the "compat"
//! variant of the Wasm image format, which Istio's image fetcher
//! (pkg/wasm/imagefetcher.go) reads by taking the image's last layer and the
//! file named `plugin.wasm` in it.
//!
//! Docker's own image store saves layers as plain tar; its containerd image
//! store saves them as the registry holds them, gzip-compressed: both are
//! read.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::process::Command;

use serde_json::Value;
use support::docker::{self, ImageTag};
use support::{repo, scratch_dir, wasm};

/// A layer as `docker save` wrote it, as a plain tar: gzip (magic bytes
/// 1f 8b) is decompressed.
fn layer_tar(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut plain)
            .expect("a gzip layer");
        plain
    } else {
        bytes.to_vec()
    }
}

/// The files of a tar archive, by path.
fn untar(bytes: &[u8]) -> HashMap<String, (tar::EntryType, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    let mut files = HashMap::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        files.insert(path, (kind, data));
    }
    files
}

#[test]
fn layers_are_read_plain_or_gzip_compressed() {
    use std::io::Write;
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "plugin.wasm", &b"\0asm"[..])
        .unwrap();
    let plain = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let compressed = gz.finish().unwrap();
    for bytes in [&plain, &compressed] {
        let files = untar(&layer_tar(bytes));
        assert_eq!(files["plugin.wasm"].1, b"\0asm");
    }
}

#[test]
fn the_module_image_is_one_layer_holding_plugin_wasm() {
    let module = fs::read(wasm()).expect("read the built module");
    docker::engine();
    let image = ImageTag::adopt(format!("{}:0.1.0", docker::unique_name("wasm-plugin")));
    let out = docker::run(
        Command::new(repo().join("scripts/wasm-image.sh")).arg(&image.0),
        "scripts/wasm-image.sh",
    );
    assert_eq!(docker::stdout(&out), image.0, "the script prints the tag");

    let dir = scratch_dir("image");
    let archive = dir.join("image.tar");
    docker::run(
        docker::docker(&["save", "--output"])
            .arg(&archive)
            .arg(&image.0),
        "docker save",
    );
    let saved = untar(&fs::read(&archive).expect("read the saved image"));
    fs::remove_dir_all(&dir).ok();

    let (_, manifest) = &saved["manifest.json"];
    let manifest: Value = serde_json::from_slice(manifest).expect("manifest.json");
    let images = manifest.as_array().expect("manifest.json is a list");
    assert_eq!(images.len(), 1, "{manifest}");
    let layers = images[0]["Layers"].as_array().expect("Layers");
    assert_eq!(
        layers.len(),
        1,
        "the image must have exactly one layer: {manifest}"
    );

    // The image configuration, which a registry push carries, lists the
    // same single layer.
    let config_path = images[0]["Config"].as_str().expect("Config");
    let config: Value = serde_json::from_slice(&saved[config_path].1).expect("image config");
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(1),
        "{config}"
    );

    let layer_path = layers[0].as_str().expect("layer path");
    let layer = untar(&layer_tar(&saved[layer_path].1));
    let paths: Vec<&String> = layer.keys().collect();
    assert_eq!(
        paths,
        vec!["plugin.wasm"],
        "the layer must hold plugin.wasm and nothing else"
    );
    let (kind, plugin) = &layer["plugin.wasm"];
    assert!(kind.is_file(), "plugin.wasm is a {kind:?}, want a file");
    assert!(
        plugin == &module,
        "plugin.wasm ({} bytes) differs from dist/knative_traffic.wasm ({} bytes)",
        plugin.len(),
        module.len()
    );

    let tag = image.0.clone();
    drop(image);
    let listed = docker::stdout(&docker::run(
        &mut docker::docker(&["image", "ls", "--quiet", &tag]),
        "docker image ls",
    ));
    assert!(listed.is_empty(), "image {tag} was not removed");
}
