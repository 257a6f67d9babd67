//! The container image and the compose file against the code: `hadolint`
//! passes on the Dockerfile, `docker-compose config` accepts the compose
//! file, which names only real settings, binaries and routes and takes
//! every secret from `.env`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::tools::{assert_served, herald_binary, port_of, read, run, settings, tool, yaml_docs};

const COMPOSE: &str = "deploy/compose/docker-compose.yml";
const SECRETS: [&str; 4] = [
    "HERALD_ADMIN_TOKEN",
    "HERALD_ENCRYPTION_KEY",
    "POSTGRES_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD",
];

#[test]
fn the_dockerfile_passes_hadolint_and_ships_both_binaries() {
    let Some(hadolint) = tool("deploy::compose::hadolint", "HERALD_HADOLINT", "hadolint") else {
        return;
    };
    run(&hadolint, &["deploy/docker/Dockerfile"]);
    let dockerfile = read("deploy/docker/Dockerfile");
    for binary in ["herald-ingest", "herald-dispatcher"] {
        assert!(
            dockerfile.contains(&format!("/src/target/release/{binary}")),
            "the image has {binary}"
        );
    }
    assert!(
        dockerfile.contains("\nUSER 10001"),
        "runs as a non-root user"
    );
}

/// `HERALD_*` defaults the image sets (its `ENV` lines).
fn image_env() -> Vec<(String, String)> {
    let dockerfile = read("deploy/docker/Dockerfile");
    let mut env = Vec::new();
    for word in dockerfile.split_whitespace() {
        if let Some((k, v)) = word
            .split_once('=')
            .filter(|(k, _)| k.starts_with("HERALD_"))
        {
            env.push((k.to_string(), v.to_string()));
        }
    }
    assert!(
        !env.is_empty(),
        "the Dockerfile sets HERALD_LISTEN and HERALD_METRICS_LISTEN"
    );
    env
}

#[tokio::test]
async fn the_compose_file_is_accepted_and_names_real_settings_binaries_and_routes() {
    let test = "deploy::compose::compose";
    let Some(compose) = tool(test, "HERALD_DOCKER_COMPOSE", "docker-compose") else {
        return;
    };
    let env_file = "deploy/compose/.env.example";
    let rendered = run(&compose, &["-f", COMPOSE, "--env-file", env_file, "config"]);
    let config = yaml_docs(&rendered).remove(0);
    let known = settings();
    let mut routes = BTreeSet::new();
    let services = config["services"].as_object().expect("services");
    for (name, service) in services {
        let env = service["environment"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for key in env.keys().filter(|k| k.starts_with("HERALD_")) {
            assert!(known.contains(key), "{name}: {key} is not a Herald setting");
        }
        if !service["image"]
            .as_str()
            .unwrap_or("")
            .starts_with("herald:")
        {
            assert!(!service["image"]
                .as_str()
                .unwrap_or(":latest")
                .ends_with(":latest"));
            continue;
        }
        let command: Vec<String> =
            serde_json::from_value(service["command"].clone()).expect("command");
        let binary = herald_binary(&command);
        let Some(test) = service["healthcheck"]["test"].as_array() else {
            continue;
        };
        let url = test
            .iter()
            .filter_map(Value::as_str)
            .find(|a| a.starts_with("http://"));
        let url = url.unwrap_or_else(|| panic!("{name}: health check without a URL"));
        let (addr, path) = url["http://".len()..].split_once('/').expect("path");
        let listen = env
            .get(binary.listen_var())
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| {
                image_env()
                    .into_iter()
                    .find(|(k, _)| k == binary.listen_var())
                    .map(|(_, v)| v)
            })
            .expect("listen address");
        assert_eq!(port_of(addr), port_of(&listen), "{name}: health check port");
        routes.insert((binary.name(), format!("/{path}")));
    }
    assert!(
        services.contains_key("migrate") && routes.len() >= 2,
        "{routes:?}"
    );
    let raw = read(COMPOSE);
    for line in raw.lines().filter(|l| {
        SECRETS
            .iter()
            .any(|s| l.trim_start().starts_with(&format!("{s}:")))
    }) {
        assert!(
            line.contains("${"),
            "a secret written into the compose file: {line}"
        );
    }
    assert_served(&routes).await;
}
