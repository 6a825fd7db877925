//! The container part of the harness: a real Docker engine and Docker Compose
//! v2, both made available by `scripts/docker-engine.sh` (which
//! `scripts/test.sh` runs first). A missing engine fails the test.
//!
//! Everything a test creates carries a name unique to the run and is removed
//! by a guard's `Drop`, so also when an assertion fails: compose projects
//! (containers, networks, volumes) by [`ComposeProject`], image tags by
//! [`ImageTag`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::repo;

/// Runs a command to completion, panicking with its output when it fails.
pub fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {command:?} exited with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `docker` with its arguments; asserts first that an engine answers.
pub fn docker(args: &[&str]) -> Command {
    engine();
    let mut command = Command::new("docker");
    command.args(args);
    command
}

/// The engine's version; fails the test when no engine answers.
pub fn engine() -> String {
    let output = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => panic!(
            "no Docker engine answers: run scripts/docker-engine.sh\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("no docker command ({e}): run scripts/docker-engine.sh"),
    }
}

/// Docker Compose v2: `DOCKER_COMPOSE` (the command `scripts/docker-engine.sh`
/// printed: "docker compose" or the path of a docker-compose binary), else
/// `docker compose`. Asserts that it is version 2.
pub fn compose() -> Command {
    let (program, args) = compose_program();
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// The Compose v2 program and its leading arguments (`DOCKER_COMPOSE`, else
/// `docker compose`), checked to answer as v2.
fn compose_program() -> (String, Vec<String>) {
    let spec = std::env::var("DOCKER_COMPOSE").unwrap_or_else(|_| "docker compose".into());
    let mut words = spec.split_whitespace().map(str::to_owned);
    let program = words.next().expect("DOCKER_COMPOSE is empty");
    let args: Vec<String> = words.collect();
    let mut version = Command::new(&program);
    version.args(&args).args(["version", "--short"]);
    let v = stdout(&run(&mut version, "Docker Compose"));
    assert!(
        v.trim_start_matches('v').starts_with("2."),
        "{spec} is Compose {v}, want v2 (run scripts/docker-engine.sh)"
    );
    (program, args)
}

static UNIQUE: AtomicU32 = AtomicU32::new(0);

/// A name no other run uses: lower-case letters, digits and '-', as image
/// tags and compose project names want.
pub fn unique_name(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "knative-traffic-test-{label}-{}-{nanos}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::SeqCst)
    )
}

/// An image tag this test created; removed on drop.
pub struct ImageTag(pub String);

impl ImageTag {
    /// Builds `context` with `dockerfile` as this tag.
    pub fn build(tag: String, dockerfile: &Path, context: &Path) -> ImageTag {
        let image = ImageTag(tag);
        run(
            docker(&["build", "--quiet", "--tag", &image.0, "--file"])
                .arg(dockerfile)
                .arg(context),
            "docker build",
        );
        image
    }

    /// Takes charge of a tag built by a script.
    pub fn adopt(tag: String) -> ImageTag {
        ImageTag(tag)
    }
}

impl Drop for ImageTag {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["image", "rm", "--force", &self.0])
            .output();
    }
}

/// A compose project of the repository's docker-compose.yaml (or of a copy
/// of the repository's compose files) under a unique project name; `down`
/// (containers, networks, volumes) on drop.
pub struct ComposeProject {
    pub name: String,
    /// Where `docker compose` runs: the repository, or a copy.
    dir: PathBuf,
    env: Vec<(String, String)>,
    down: bool,
    /// Compose, checked once before anything is created, so that the
    /// teardown in `Drop` never has to check (and panic) again.
    program: (String, Vec<String>),
}

impl ComposeProject {
    /// `docker compose up --detach` with these variables.
    pub fn up(name: String, env: &[(&str, &str)]) -> ComposeProject {
        let project = ComposeProject::create(repo().to_path_buf(), name, env);
        run(
            &mut project.command(&["up", "--detach", "--quiet-pull"]),
            "docker compose up",
        );
        project
    }

    /// The project of the compose file in `dir`, nothing started yet.
    pub fn create(dir: PathBuf, name: String, env: &[(&str, &str)]) -> ComposeProject {
        ComposeProject {
            name,
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            down: false,
            program: compose_program(),
        }
    }

    /// `docker compose` for this project, run from its directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let (program, leading) = &self.program;
        let mut command = Command::new(program);
        command
            .args(leading)
            .current_dir(&self.dir)
            .args(["--project-name", &self.name])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs `docker compose ARGS`, for a run expected to fail: whether it
    /// succeeded, and its standard output and error together.
    pub fn try_run(&self, args: &[&str]) -> (bool, String) {
        let output = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("docker compose {args:?}: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    /// The services' logs, for failure messages.
    pub fn logs(&self) -> String {
        self.command(&["logs", "--no-color"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Stops and removes the project's containers, networks and volumes, and
    /// returns what Docker still lists with the project's label (nothing,
    /// when the teardown is complete).
    pub fn down(mut self) -> Vec<String> {
        self.down = true;
        run(
            &mut self.command(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]),
            "docker compose down",
        );
        leftovers(&self.name)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if !self.down {
            if std::thread::panicking() {
                eprintln!("logs of compose project {}:\n{}", self.name, self.logs());
            }
            let _ = self
                .command(&["down", "--volumes", "--remove-orphans", "--timeout", "5"])
                .output();
        }
    }
}

/// Containers, networks and volumes labelled as belonging to this compose
/// project.
pub fn leftovers(project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let mut found = Vec::new();
    for (kind, args) in [
        (
            "container",
            vec!["ps", "--all", "--quiet", "--filter", &filter],
        ),
        (
            "network",
            vec!["network", "ls", "--quiet", "--filter", &filter],
        ),
        (
            "volume",
            vec!["volume", "ls", "--quiet", "--filter", &filter],
        ),
    ] {
        let out = stdout(&run(&mut docker(&args), "docker ls"));
        found.extend(out.lines().map(|id| format!("{kind} {id}")));
    }
    found
}
