//! The deployment files agree with the code: `queue/definitions.json` declares the queues exactly
//! as `rewriter::queue::topology` does (RabbitMQ refuses a redeclare with other arguments),
//! `docker-compose.yml` runs subcommands the binary has with only variables it reads, its
//! worker health check is `rewriter health` on a port the Dockerfile exposes, and the
//! Dockerfile ships the prompts. Static checks on files; no Docker engine is needed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use rewriter::cli::{Cli, Command};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

// ---- helpers -----------------------------------------------------------------------------------

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn definitions() -> Json {
    serde_json::from_str(&read("queue/definitions.json")).expect("definitions.json is JSON")
}

/// docker-compose.yml with `<<: *anchor` merge keys applied, as Compose applies them.
fn compose() -> Yaml {
    let mut compose: Yaml =
        serde_yaml::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML");
    compose
        .apply_merge()
        .expect("merge keys in docker-compose.yml resolve");
    compose
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"))
}

fn yaml_scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => String::new(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// A service's `environment`, in either Compose form (`KEY: value` or `- KEY=value`).
/// A key listed without a value (`- KEY`) passes the host's value through: `None` here.
fn environment(service: &Yaml) -> Vec<(String, Option<String>)> {
    match service.get("environment") {
        None => Vec::new(),
        Some(Yaml::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = (!v.is_null()).then(|| yaml_scalar(v));
                (yaml_scalar(k), value)
            })
            .collect(),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .map(|item| {
                let item = item.as_str().expect("environment list items are strings");
                match item.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (item.to_owned(), None),
                }
            })
            .collect(),
        Some(other) => panic!("environment is neither a map nor a list: {other:?}"),
    }
}

fn env_value(service: &Yaml, key: &str) -> String {
    environment(service)
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v)
        .unwrap_or_else(|| panic!("the service sets no value for {key}"))
}

/// Each `${VAR:-default}` (or `${VAR-default}`) replaced by its default, `${VAR}` by nothing:
/// the value Compose uses when the variable is unset.
fn compose_default(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("every ${ is closed");
        let inner = &after[..end];
        if let Some((_, default)) = inner.split_once(":-").or_else(|| inner.split_once('-')) {
            out.push_str(default);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A service's `command` as words, in either Compose form (list or string).
fn command_words(service: &Yaml) -> Vec<String> {
    match service.get("command") {
        Some(Yaml::Sequence(words)) => words.iter().map(yaml_scalar).collect(),
        Some(Yaml::String(line)) => line.split_whitespace().map(str::to_owned).collect(),
        other => panic!("expected a command, found {other:?}"),
    }
}

/// A Compose duration written in whole seconds (`45s`), as seconds.
fn whole_seconds(value: &Yaml, what: &str) -> u64 {
    let text = yaml_scalar(value);
    text.strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what} {text:?} is not whole seconds"))
}

/// A service's volumes as `(source, target)`, in either Compose form (short or long).
fn volumes(service: &Yaml) -> Vec<(String, String)> {
    let Some(list) = service.get("volumes").and_then(Yaml::as_sequence) else {
        return Vec::new();
    };
    list.iter()
        .map(|volume| match volume {
            Yaml::String(short) => {
                let short = compose_default(short);
                let mut parts = short.split(':');
                let source = parts.next().unwrap_or_default().to_owned();
                let target = parts.next().unwrap_or_default().to_owned();
                (source, target)
            }
            long => (
                long.get("source").map(yaml_scalar).unwrap_or_default(),
                long.get("target").map(yaml_scalar).unwrap_or_default(),
            ),
        })
        .collect()
}

fn defined_queue<'a>(definitions: &'a Json, name: &str) -> Option<&'a Json> {
    definitions["queues"]
        .as_array()
        .expect("definitions.json has a queues list")
        .iter()
        .find(|q| q["name"] == name)
}

/// `amqp://user:password@host:port/vhost` → `(user, vhost)`, the vhost percent-decoded for `/`.
fn amqp_user_and_vhost(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix("amqp://")
        .or_else(|| url.strip_prefix("amqps://"))
        .expect("AMQP_URL starts with amqp://");
    let (userinfo, hostpath) = rest.split_once('@').expect("AMQP_URL names a user");
    let user = userinfo.split(':').next().unwrap_or_default().to_owned();
    let vhost = hostpath.split_once('/').map_or("", |(_, v)| v);
    let vhost = match vhost {
        "" | "%2f" | "%2F" => "/".to_owned(),
        other => other.to_owned(),
    };
    (user, vhost)
}

/// Dockerfile instructions, one string each, with line continuations joined and comments dropped.
fn dockerfile_instructions() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                current.clear();
            }
        }
    }
    instructions
}

// ---- queue/definitions.json ---------------------------------------------------------------------

#[test]
fn definitions_json_declares_the_queues_exactly_as_the_code_does() {
    // Arrange
    let definitions = definitions();
    let specs = rewriter::queue::topology("rewriter.jobs");
    let defined = definitions["queues"].as_array().expect("a queues list");

    // Act
    let mismatches: Vec<String> = specs
        .iter()
        .filter_map(|spec| {
            let Some(queue) = defined_queue(&definitions, &spec.name) else {
                return Some(format!("{} is not in definitions.json", spec.name));
            };
            let expected = serde_json::json!({
                "vhost": "/",
                "durable": spec.durable,
                "auto_delete": false,
                "arguments": Json::Object(spec.arguments.clone()),
            });
            let actual = serde_json::json!({
                "vhost": queue["vhost"],
                "durable": queue["durable"],
                "auto_delete": queue["auto_delete"],
                "arguments": queue["arguments"],
            });
            (expected != actual).then(|| {
                format!(
                    "{}: code declares {expected}, definitions.json has {actual}",
                    spec.name
                )
            })
        })
        .collect();
    let extra: Vec<&str> = defined
        .iter()
        .filter_map(|q| q["name"].as_str())
        .filter(|name| !specs.iter().any(|spec| spec.name == *name))
        .collect();

    // Assert
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        extra.is_empty(),
        "definitions.json declares queues the code does not: {extra:?}"
    );
}

#[test]
fn definitions_json_lets_the_compose_user_into_the_vhost() {
    // Arrange
    let definitions = definitions();
    let compose = compose();
    let (user, vhost) = amqp_user_and_vhost(&env_value(service(&compose, "worker"), "AMQP_URL"));

    // Act
    let defined_user = definitions["users"]
        .as_array()
        .expect("a users list")
        .iter()
        .find(|u| u["name"] == user.as_str());
    let permission = definitions["permissions"]
        .as_array()
        .expect("a permissions list")
        .iter()
        .find(|p| p["user"] == user.as_str() && p["vhost"] == vhost.as_str());

    // Assert
    let defined_user = defined_user.unwrap_or_else(|| panic!("no user {user:?} in definitions"));
    assert_eq!(
        defined_user["hashing_algorithm"],
        "rabbit_password_hashing_sha256"
    );
    assert!(
        definitions["vhosts"]
            .as_array()
            .expect("a vhosts list")
            .iter()
            .any(|v| v["name"] == vhost.as_str()),
        "vhost {vhost:?} is not defined"
    );
    let permission =
        permission.unwrap_or_else(|| panic!("{user:?} has no permissions on {vhost:?}"));
    for kind in ["configure", "write", "read"] {
        assert_eq!(
            permission[kind], ".*",
            "{user:?} needs full {kind} permission"
        );
    }
}

// ---- docker-compose.yml -------------------------------------------------------------------------

#[test]
fn compose_worker_runs_the_worker_command_against_the_defined_queue() {
    // Arrange
    let compose = compose();
    let definitions = definitions();
    let worker = service(&compose, "worker");
    let enqueue = service(&compose, "enqueue");

    // Act
    let worker_command = command_words(worker);
    let enqueue_command = command_words(enqueue);
    let queue = env_value(worker, "REWRITER_QUEUE");

    // Assert
    assert_eq!(worker_command, ["worker"]);
    for command in [&worker_command[0], &enqueue_command[0]] {
        assert!(
            rewriter::cli::COMMANDS.contains(&command.as_str()),
            "the binary has no subcommand {command:?}: {:?}",
            rewriter::cli::COMMANDS
        );
    }
    assert!(
        defined_queue(&definitions, &queue).is_some(),
        "{queue} is not in definitions.json"
    );
    let dead = format!("{queue}.dead");
    assert!(
        defined_queue(&definitions, &dead).is_some(),
        "{dead} is not in definitions.json"
    );
    for key in ["AMQP_URL", "REWRITER_QUEUE"] {
        assert_eq!(
            env_value(enqueue, key),
            env_value(worker, key),
            "enqueue must publish where the worker consumes ({key})"
        );
    }
}

#[test]
fn compose_uses_only_variables_the_code_reads() {
    // Arrange
    let compose = compose();
    let known: Vec<&str> = rewriter::config::SETTINGS.iter().map(|s| s.var).collect();

    // Act
    let unknown: Vec<String> = ["worker", "enqueue", "ingest"]
        .into_iter()
        .flat_map(|name| {
            environment(service(&compose, name))
                .into_iter()
                .filter(|(key, _)| !rewriter::config::is_setting(key))
                .map(move |(key, _)| format!("{name}: {key}"))
        })
        .collect();

    // Assert
    assert!(
        unknown.is_empty(),
        "variables the code never reads: {unknown:?}; known: {known:?}"
    );
}

#[test]
fn compose_ingest_watches_a_mounted_feeds_file_and_feeds_the_workers_queue() {
    // Arrange
    let compose = compose();
    let worker = service(&compose, "worker");
    let ingest = service(&compose, "ingest");

    // Act
    let command = command_words(ingest);
    let feeds = env_value(ingest, "REWRITER_FEEDS");
    let mounts = volumes(ingest);

    // Assert
    assert_eq!(command, ["ingest", "--watch"]);
    assert!(rewriter::cli::COMMANDS.contains(&"ingest"));
    for key in ["AMQP_URL", "REWRITER_QUEUE", "REWRITER_OUT"] {
        assert_eq!(
            env_value(ingest, key),
            env_value(worker, key),
            "the ingester must publish where the workers consume and keep its state beside \
             their archive ({key})"
        );
    }
    assert!(
        mounts
            .iter()
            .any(|(source, target)| source == "./feeds.toml" && *target == feeds),
        "REWRITER_FEEDS ({feeds}) must be the host's ./feeds.toml by default, found {mounts:?}"
    );
    let out = env_value(ingest, "REWRITER_OUT");
    assert!(
        mounts
            .iter()
            .any(|(source, target)| source == "./content" && *target == out),
        "the state under REWRITER_OUT must be the workers' ./content, found {mounts:?}"
    );
    let health = ingest.get("healthcheck").and_then(|h| h.get("test"));
    assert_eq!(
        health
            .and_then(Yaml::as_sequence)
            .map(|t| t.iter().map(yaml_scalar).collect::<Vec<_>>()),
        Some(vec![
            "CMD".to_owned(),
            "rewriter".to_owned(),
            "health".to_owned()
        ])
    );
    assert!(
        repo_path("feeds.example.toml").exists(),
        "the example feeds file the compose comment points at"
    );
    rewriter::ingest::feeds::parse("feeds.example.toml", &read("feeds.example.toml"))
        .expect("the example feeds file is valid");
}

#[test]
fn compose_desk_serves_the_workers_archive_on_host_port_8080() {
    // Arrange
    let compose = compose();
    let desk = service(&compose, "desk");
    let worker = service(&compose, "worker");

    // Act
    let command = command_words(desk);
    let unknown: Vec<String> = environment(desk)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !rewriter::config::is_setting(key))
        .collect();
    let addr = compose_default(&env_value(desk, "REWRITER_DESK_ADDR"));
    let ports: Vec<String> = desk
        .get("ports")
        .and_then(Yaml::as_sequence)
        .expect("the desk publishes a port")
        .iter()
        .map(|p| compose_default(&yaml_scalar(p)))
        .collect();
    let content = |s: &Yaml| {
        volumes(s)
            .into_iter()
            .find(|(_, inside)| *inside == env_value(s, "REWRITER_OUT"))
            .map(|(host, _)| host)
    };

    // Assert
    assert_eq!(command, ["desk"]);
    assert!(rewriter::cli::COMMANDS.contains(&"desk"));
    assert!(
        unknown.is_empty(),
        "variables the code never reads: {unknown:?}"
    );
    let container_port = addr.rsplit(':').next().unwrap_or_default().to_owned();
    assert_eq!(
        ports,
        [format!("127.0.0.1:8080:{container_port}")],
        "host loopback 8080 to REWRITER_DESK_ADDR's port ({addr})"
    );
    for key in ["AMQP_URL", "REWRITER_QUEUE", "REWRITER_OUT"] {
        assert_eq!(env_value(desk, key), env_value(worker, key), "{key}");
    }
    assert!(content(desk).is_some() && content(desk) == content(worker));
    assert!(!env_value(desk, "REWRITER_DESK_USERS").is_empty());
}

#[test]
fn the_readme_lists_every_setting_the_code_reads_and_no_other() {
    // Arrange
    let readme = read("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has a Configuration section");

    // Act
    let mut listed: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let mut known: Vec<&str> = rewriter::config::SETTINGS.iter().map(|s| s.var).collect();
    listed.sort_unstable();
    known.sort_unstable();

    // Assert
    assert_eq!(
        listed, known,
        "README.md's Configuration table against config::SETTINGS"
    );
}

#[test]
fn the_contract_names_every_command_and_only_settings_the_code_reads() {
    // Arrange
    let contract = read("docs/contract.md");

    // Act
    let missing: Vec<&str> = rewriter::cli::COMMANDS
        .iter()
        .copied()
        .filter(|command| !contract.contains(&format!("`rewriter {command}")))
        .collect();
    let settings = contract
        .split("\n## Settings\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/contract.md has a Settings section");
    let unknown: Vec<&str> = settings
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|var| !rewriter::config::is_setting(var))
        .collect();

    // Assert
    assert!(
        missing.is_empty(),
        "commands docs/contract.md lacks: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/contract.md's table names settings the code does not read: {unknown:?}"
    );
}

#[test]
fn compose_worker_writes_articles_to_a_host_folder_and_can_be_scaled() {
    // Arrange
    let compose = compose();
    let worker = service(&compose, "worker");

    // Act
    let out = env_value(worker, "REWRITER_OUT");
    let mounts = volumes(worker);

    // Assert
    assert!(
        mounts
            .iter()
            .any(|(source, target)| source.starts_with("./") && *target == out),
        "REWRITER_OUT ({out}) must be a bind mount from the host, found {mounts:?}"
    );
    assert!(
        worker.get("container_name").is_none(),
        "a container_name stops --scale"
    );
    assert!(worker.get("ports").is_none(), "host ports stop --scale");
}

#[test]
fn compose_gives_the_worker_time_to_finish_jobs_in_flight() {
    // Arrange
    let compose = compose();
    let worker = service(&compose, "worker");

    // Act
    let stop_grace = worker
        .get("stop_grace_period")
        .map(yaml_scalar)
        .expect("the worker sets stop_grace_period");
    let stop_grace_secs: u64 = stop_grace
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("stop_grace_period {stop_grace:?} is not whole seconds"));
    let shutdown_grace_secs: u64 =
        compose_default(&env_value(worker, "REWRITER_SHUTDOWN_GRACE_SECS"))
            .parse()
            .expect("REWRITER_SHUTDOWN_GRACE_SECS defaults to whole seconds");

    // Assert
    assert!(
        shutdown_grace_secs < stop_grace_secs,
        "the worker's own grace ({shutdown_grace_secs}s) must end before Docker's SIGKILL \
         ({stop_grace_secs}s)"
    );
}

#[test]
fn compose_worker_health_check_asks_its_own_binary_whether_the_worker_is_ready() {
    // Arrange
    let compose = compose();
    let healthcheck = service(&compose, "worker")
        .get("healthcheck")
        .expect("the worker has a healthcheck");
    let instructions = dockerfile_instructions();

    // Act
    let test: Vec<String> = healthcheck
        .get("test")
        .and_then(Yaml::as_sequence)
        .expect("healthcheck.test is a list")
        .iter()
        .map(yaml_scalar)
        .collect();
    let (form, argv) = test.split_first().expect("healthcheck.test is not empty");
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let parsed = Cli::try_parse_from(argv);
    let timeout_secs = whole_seconds(
        healthcheck.get("timeout").expect("a healthcheck timeout"),
        "healthcheck.timeout",
    );

    // Assert
    assert_eq!(form, "CMD", "the exec form: the binary itself, no shell");
    assert_eq!(argv.first().map(String::as_str), Some("rewriter"));
    assert!(
        instructions
            .iter()
            .any(|i| i == "COPY --from=builder /usr/local/bin/rewriter /usr/local/bin/rewriter"),
        "the image puts rewriter on the PATH"
    );
    assert_eq!(argv.get(1).map(String::as_str), Some("health"));
    assert!(
        subcommands.iter().any(|c| c == "health"),
        "the binary has no subcommand health: {subcommands:?}"
    );
    assert!(
        rewriter::cli::COMMANDS.contains(&"health"),
        "cli::COMMANDS lacks health: {:?}",
        rewriter::cli::COMMANDS
    );
    match parsed {
        Ok(Cli {
            command: Command::Health(args),
        }) => {
            assert!(
                !args.live,
                "the check asks for readiness (/readyz), not liveness"
            );
            assert_eq!(args.addr, None, "the check follows REWRITER_METRICS_ADDR");
        }
        other => panic!("{argv:?} is not a health command line: {other:?}"),
    }
    assert!(
        timeout_secs > 3,
        "`rewriter health` gives up after 3 s with its reason; Docker's timeout \
         ({timeout_secs}s) must leave it that long"
    );
}

#[test]
fn compose_worker_serves_its_health_on_a_port_the_dockerfile_exposes() {
    // Arrange
    let compose = compose();
    let worker = service(&compose, "worker");
    let instructions = dockerfile_instructions();

    // Act
    let value = compose_default(&env_value(worker, "REWRITER_METRICS_ADDR"));
    let settings = rewriter::config::Settings::from_map(&HashMap::from([(
        "REWRITER_METRICS_ADDR".to_owned(),
        value.clone(),
    )]))
    .unwrap_or_else(|e| panic!("the code refuses REWRITER_METRICS_ADDR={value}: {e}"));
    let addr = settings
        .metrics_addr
        .unwrap_or_else(|| panic!("REWRITER_METRICS_ADDR={value:?} turns the endpoint off"));
    let exposed: Vec<u16> = instructions
        .iter()
        .filter_map(|i| i.strip_prefix("EXPOSE "))
        .flat_map(str::split_whitespace)
        .filter_map(|port| port.trim_end_matches("/tcp").parse().ok())
        .collect();

    // Assert
    assert!(
        addr.ip().is_unspecified(),
        "{addr}: the worker must listen on every interface, for Prometheus on the compose \
         network (the health check reaches it on the loopback)"
    );
    assert!(
        exposed.contains(&addr.port()),
        "the Dockerfile EXPOSEs {exposed:?}, not the worker's port {}",
        addr.port()
    );
}

#[test]
fn rabbitmq_service_loads_the_queue_folder() {
    // Arrange
    let compose = compose();
    let rabbitmq = service(&compose, "rabbitmq");
    let conf = read("queue/rabbitmq.conf");

    // Act
    let mounts = volumes(rabbitmq);
    let target_of = |file: &str| {
        mounts
            .iter()
            .find(|(source, _)| source.trim_start_matches("./") == file)
            .map(|(_, target)| target.clone())
            .unwrap_or_else(|| panic!("the rabbitmq service does not mount {file}: {mounts:?}"))
    };
    let loaded = conf.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        matches!(key.trim(), "load_definitions" | "definitions.local.path")
            .then(|| value.trim().to_owned())
    });

    // Assert
    assert_eq!(
        target_of("queue/rabbitmq.conf"),
        "/etc/rabbitmq/rabbitmq.conf"
    );
    assert_eq!(
        loaded.as_deref(),
        Some(target_of("queue/definitions.json").as_str()),
        "rabbitmq.conf must load the definitions.json that compose mounts"
    );
    for (source, _) in mounts.iter().filter(|(source, _)| source.starts_with("./")) {
        assert!(
            repo_path(source).exists(),
            "the rabbitmq service mounts a missing {source}"
        );
    }
    assert!(
        rabbitmq.get("healthcheck").is_some(),
        "workers wait on the broker's healthcheck"
    );
    let condition = service(&compose, "worker")
        .get("depends_on")
        .and_then(|d| d.get("rabbitmq"))
        .and_then(|r| r.get("condition"))
        .and_then(Yaml::as_str);
    assert_eq!(condition, Some("service_healthy"));
}

// ---- Dockerfile ---------------------------------------------------------------------------------

#[test]
fn dockerfile_ships_the_prompts_and_runs_the_worker() {
    // Arrange
    let instructions = dockerfile_instructions();
    let compose = compose();
    let prompts_in_compose = env_value(service(&compose, "worker"), "REWRITER_PROMPTS");

    // Act
    let has = |wanted: &str| instructions.iter().any(|i| i == wanted);
    let runtime_stage: Vec<&String> = instructions
        .iter()
        .skip_while(|i| !i.starts_with("FROM debian:bookworm-slim"))
        .collect();
    let user = runtime_stage
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "));

    // Assert
    assert!(
        !runtime_stage.is_empty(),
        "the runtime stage is debian:bookworm-slim"
    );
    assert!(has("COPY prompts /app/prompts"), "the image ships prompts/");
    assert_eq!(
        prompts_in_compose, "/app/prompts",
        "compose points at the shipped prompts"
    );
    assert!(
        instructions
            .iter()
            .any(|i| i.starts_with("ENV ") && i.contains("REWRITER_PROMPTS=/app/prompts")),
        "the image's REWRITER_PROMPTS is /app/prompts"
    );
    assert!(has(r#"ENTRYPOINT ["rewriter"]"#));
    assert!(has(r#"CMD ["worker"]"#));
    assert!(
        user.is_some_and(|u| !u.starts_with("root") && !u.starts_with('0')),
        "the runtime runs as a non-root user, found {user:?}"
    );
    assert!(
        repo_path("prompts").is_dir(),
        "prompts/ must exist for COPY prompts to work"
    );
}
