//! Every JSON configuration example of the README and of `docs/` is one the
//! filter accepts: each ```` ```json ```` block is compiled with
//! [`knative_traffic::compile`], and a failure names the file and the line the
//! block starts at.
//!
//! A block that is not a whole document says after `json` how to check it:
//!
//! - ```` ```json ````: a whole configuration, compiled as it is;
//! - ```` ```json fragment=document ````: top-level fields, put beside the
//!   services of [`BASE`] (replacing fields of the same name);
//! - ```` ```json fragment=service:NAME ````: fields of a service, put into
//!   the service `NAME` of [`BASE`] (replacing fields of the same name);
//! - `each-line` after either: every line is an alternative, checked alone;
//! - `invalid` after any of these: an example of an error, which must be
//!   refused.

// Tests report by panicking.
#![allow(clippy::restriction)]

use std::fs;
use std::path::Path;

use serde_json::{Map, Value};

/// The document fragments are put into: the configuration reference's
/// complete example (the seeds' two services), as the README shows it.
const BASE: &str = r#"{
  "clusterHeader": "x-knative-cluster",
  "clusterTemplate": "{revision}",
  "domain": "example.com",
  "services": [
    {
      "name": "traffic-example",
      "namespace": "default",
      "latestReadyRevisionName": "traffic-example-v3",
      "traffic": [
        { "tag": "v1", "revisionName": "traffic-example-v1", "percent": 80 },
        { "tag": "v2", "revisionName": "traffic-example-v2", "percent": 10 },
        { "tag": "v3", "revisionName": "traffic-example-v3", "percent": 10 },
        { "tag": "latest", "latestRevision": true, "percent": 0 }
      ]
    },
    {
      "name": "helloworld-go",
      "namespace": "example",
      "traffic": [
        { "tag": "a", "revisionName": "helloworld-go-00001", "percent": 50 },
        { "tag": "b", "revisionName": "helloworld-go-00002", "percent": 50 }
      ],
      "clusters": { "helloworld-go-00002": "helloworld-go-canary" }
    }
  ]
}"#;

/// A ```` ```json ```` block of a page.
struct Block {
    /// The page, relative to the repository.
    file: String,
    /// The line of the opening fence, from 1.
    line: usize,
    /// What follows `json` on the opening fence.
    info: String,
    /// The lines between the fences.
    lines: Vec<String>,
}

/// Where a block's text goes before it is compiled.
enum Form {
    Whole,
    Document,
    Service(String),
}

/// How a block is checked, from its info string.
struct Check {
    form: Form,
    each_line: bool,
    invalid: bool,
}

/// The pages: README.md, then docs/*.md in name order.
fn pages(root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut names = vec!["README.md".to_owned()];
    let docs = root.join("docs");
    let entries = fs::read_dir(&docs).map_err(|e| format!("docs/: {e}"))?;
    let mut found = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| format!("docs/: {e}"))?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".md") {
            found.push(format!("docs/{name}"));
        }
    }
    found.sort();
    names.extend(found);
    names
        .into_iter()
        .map(|name| {
            fs::read_to_string(root.join(&name))
                .map(|text| (name.clone(), text))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

/// The ```` ```json ```` blocks of a page. A fence may be indented (in a
/// list); its indentation is taken off the block's lines.
fn json_blocks(file: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    // An open fence: its indentation, and the block if it is a json one.
    let mut open: Option<(usize, Option<Block>)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let mut words = info.splitn(2, char::is_whitespace);
                    let block = (words.next() == Some("json")).then(|| Block {
                        file: file.to_owned(),
                        line: index + 1,
                        info: words.next().unwrap_or("").trim().to_owned(),
                        lines: Vec::new(),
                    });
                    open = Some((indent, block));
                }
            }
            Some((fence_indent, block)) => {
                if trimmed.trim_end() == "```" {
                    if let Some((_, Some(block))) = open.take() {
                        blocks.push(block);
                    }
                } else if let Some(block) = block {
                    let cut = indent.min(*fence_indent);
                    block.lines.push(line.get(cut..).unwrap_or(line).to_owned());
                }
            }
        }
    }
    blocks
}

fn check(info: &str) -> Result<Check, String> {
    let mut check = Check {
        form: Form::Whole,
        each_line: false,
        invalid: false,
    };
    for word in info.split_whitespace() {
        match word {
            "fragment=document" => check.form = Form::Document,
            "each-line" => check.each_line = true,
            "invalid" => check.invalid = true,
            _ => match word.strip_prefix("fragment=service:") {
                Some(name) if !name.is_empty() => check.form = Form::Service(name.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown word {word:?} after json (use fragment=document, \
                         fragment=service:NAME, each-line, invalid)"
                    ))
                }
            },
        }
    }
    Ok(check)
}

/// The fields a fragment's text holds, as a JSON object's members.
fn fields(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.trim().trim_end_matches(',');
    serde_json::from_str(&format!("{{{text}\n}}"))
        .map_err(|e| format!("not the fields of a JSON object: {e}"))
}

/// The whole document a piece of a block stands for.
fn document(form: &Form, text: &str) -> Result<Vec<u8>, String> {
    let (container, fields) = match form {
        Form::Whole => return Ok(text.as_bytes().to_vec()),
        Form::Document => (None, fields(text)?),
        Form::Service(name) => (Some(name), fields(text)?),
    };
    let mut base: Value =
        serde_json::from_str(BASE).map_err(|e| format!("the base document: {e}"))?;
    let target = match container {
        None => base.as_object_mut(),
        Some(name) => base
            .get_mut("services")
            .and_then(Value::as_array_mut)
            .and_then(|services| {
                services
                    .iter_mut()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
            })
            .and_then(Value::as_object_mut),
    };
    let target = target.ok_or_else(|| match container {
        Some(name) => format!("the base document has no service {name:?}"),
        None => "the base document is not an object".to_owned(),
    })?;
    target.extend(fields);
    serde_json::to_vec(&base).map_err(|e| format!("cannot write the document: {e}"))
}

/// What is wrong with a block, if anything: one message per failed piece.
fn problems(block: &Block) -> Vec<String> {
    let fence = format!("```json {}", block.info);
    let at = format!("{}:{} ({})", block.file, block.line, fence.trim_end());
    let check = match check(&block.info) {
        Ok(check) => check,
        Err(message) => return vec![format!("{at}: {message}")],
    };
    // Each piece: its first line in the file, and its text.
    let pieces: Vec<(usize, String)> = if check.each_line {
        block
            .lines
            .iter()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| (block.line + 1 + i, line.clone()))
            .collect()
    } else {
        vec![(block.line, block.lines.join("\n"))]
    };
    if pieces.is_empty() {
        return vec![format!("{at}: the block is empty")];
    }
    let mut problems = Vec::new();
    for (line, text) in pieces {
        let at = if check.each_line {
            format!("{at}, line {line}")
        } else {
            at.clone()
        };
        let document = match document(&check.form, &text) {
            Ok(document) => document,
            Err(message) => {
                problems.push(format!("{at}: {message}"));
                continue;
            }
        };
        match (knative_traffic::compile(&document), check.invalid) {
            (Ok(_), false) | (Err(_), true) => {}
            (Err(errors), false) => problems.push(format!("{at}: refused:\n{errors}")),
            (Ok(_), true) => {
                problems.push(format!("{at}: marked invalid, but the filter accepts it"))
            }
        }
    }
    problems
}

#[test]
fn the_base_document_is_accepted() {
    if let Err(errors) = knative_traffic::compile(BASE.as_bytes()) {
        panic!("{errors}");
    }
}

#[test]
fn every_json_example_in_the_docs_is_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = pages(root).unwrap();
    assert!(pages.len() > 1, "no docs/*.md pages");
    let blocks: Vec<Block> = pages
        .iter()
        .flat_map(|(file, text)| json_blocks(file, text))
        .collect();
    assert!(
        blocks.iter().any(|b| b.file == "README.md"),
        "README.md has no json example"
    );
    assert!(
        blocks.len() >= 11,
        "only {} json blocks found: {:?}",
        blocks.len(),
        blocks
            .iter()
            .map(|b| format!("{}:{}", b.file, b.line))
            .collect::<Vec<_>>()
    );
    let problems: Vec<String> = blocks.iter().flat_map(problems).collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

#[test]
fn a_refused_example_is_reported_with_its_file_and_line() {
    let page = "text\n\n```json fragment=service:traffic-example\n\"mirror\": { \"tag\": \"v9\", \"percent\": 10 }\n```\n";
    let blocks = json_blocks("docs/example.md", page);
    assert_eq!(blocks.len(), 1);
    let problems = problems(&blocks[0]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("docs/example.md:3 "),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("mirror: tag \"v9\" is not a tag"),
        "{}",
        problems[0]
    );
}

#[test]
fn the_check_forms_do_what_they_say() {
    let page = "\
```json invalid
{ \"services\": [] , }
```
  ```json fragment=document each-line
  \"metrics\": false
  \"routeResponseHeader\": \"x-knative-route\"
  ```
```json fragment=service:helloworld-go invalid
\"traffic\": [ { \"revisionName\": \"helloworld-go-00001\", \"percent\": 90 } ]
```
```json fragment=service:nobody
\"rules\": []
```
```json fragment=sevrice:web
{}
```
```yaml
not: json
```
";
    let blocks = json_blocks("page.md", page);
    let lines: Vec<usize> = blocks.iter().map(|b| b.line).collect();
    assert_eq!(lines, [1, 4, 8, 11, 14]);
    assert!(problems(&blocks[0]).is_empty());
    assert!(problems(&blocks[1]).is_empty());
    assert!(problems(&blocks[2]).is_empty());
    let nobody = problems(&blocks[3]);
    assert!(nobody[0].contains("no service \"nobody\""), "{nobody:?}");
    let typo = problems(&blocks[4]);
    assert!(typo[0].contains("unknown word"), "{typo:?}");
}
