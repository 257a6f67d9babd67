//! The Kubernetes manifests, rendered by `kubectl kustomize`, against the
//! code: images run Herald's binaries (others are pinned), every variable
//! is a setting the code reads, ports are the ones the binaries listen on,
//! probes answer 200 on a running Herald, grace periods exceed
//! `HERALD_SHUTDOWN_GRACE`, the KEDA triggers name the real streams and
//! consumers on the NATS chart's services, and the HPA variant swaps KEDA out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use herald_common::config::parse_duration;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use serde_json::Value;

use super::tools::{assert_served, herald_binary, port_of, read, run, settings, tool, yaml_docs};

/// The rendered objects of an overlay.
fn render(kubectl: &PathBuf, overlay: &str) -> Vec<Value> {
    yaml_docs(&run(
        kubectl,
        &["kustomize", &format!("deploy/k8s/overlays/{overlay}")],
    ))
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found = objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name);
    found.unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// The variables a container gets: `env` and every key of its `envFrom`.
fn container_env(objects: &[Value], c: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let (kind, data, r) = match (&from["configMapRef"], &from["secretRef"]) {
            (r, _) if r.is_object() => ("ConfigMap", "data", r),
            (_, r) => ("Secret", "stringData", r),
        };
        let source = find(objects, kind, r["name"].as_str().unwrap_or(""));
        for (k, v) in source[data].as_object().into_iter().flatten() {
            env.insert(k.clone(), v.as_str().unwrap_or("").to_string());
        }
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let value = e["value"].as_str().unwrap_or("(from the pod)");
        env.insert(
            e["name"].as_str().unwrap_or("").to_string(),
            value.to_string(),
        );
    }
    env
}

/// One Herald container: its variables, ports, probes and grace period.
fn check_herald_container(
    objects: &[Value],
    workload: &Value,
    c: &Value,
    routes: &mut BTreeSet<(&'static str, String)>,
) {
    let name = workload["metadata"]["name"].as_str().unwrap_or("?");
    let binary = herald_binary(&strings(&c["command"]));
    let env = container_env(objects, c);
    let known = settings();
    for key in env.keys() {
        assert!(known.contains(key), "{name}: {key} is not a Herald setting");
    }
    let port_names: BTreeSet<String> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let listen = env.get(binary.listen_var()).expect("listen address");
            assert_eq!(
                p["containerPort"],
                port_of(listen),
                "{name}: port of {listen}"
            );
            p["name"].as_str().expect("named port").to_string()
        })
        .collect();
    for probe in ["readinessProbe", "livenessProbe"].map(|p| &c[p]["httpGet"]) {
        if probe.is_null() {
            continue;
        }
        let port = probe["port"].as_str().unwrap_or("");
        assert!(
            port_names.contains(port),
            "{name}: probe on unknown port {port}"
        );
        routes.insert((
            binary.name(),
            probe["path"].as_str().expect("path").to_string(),
        ));
    }
    if workload["kind"] == "Deployment" {
        assert!(
            !port_names.is_empty() && !c["readinessProbe"].is_null(),
            "{name} has probes"
        );
        let grace = parse_duration(&env["HERALD_SHUTDOWN_GRACE"]).expect("grace");
        let pod_grace =
            workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as_u64();
        assert!(
            pod_grace.unwrap_or(30) > grace.as_secs(),
            "{name}: grace period"
        );
    }
}

/// Every workload's containers; the (binary, path) of every probe.
fn check_workloads(objects: &[Value]) -> BTreeSet<(&'static str, String)> {
    let mut routes = BTreeSet::new();
    let kinds = ["Deployment", "StatefulSet", "Job"];
    for w in objects
        .iter()
        .filter(|o| kinds.iter().any(|k| o["kind"] == *k))
    {
        for c in w["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let image = c["image"].as_str().expect("image");
            if image.starts_with("herald:") {
                check_herald_container(objects, w, c, &mut routes);
            } else {
                let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
                assert!(tag != "latest", "unpinned image {image}");
            }
        }
    }
    routes
}

/// Services point at named ports of the pods they select.
fn check_services(objects: &[Value]) {
    for s in objects.iter().filter(|o| o["kind"] == "Service") {
        let selector = s["spec"]["selector"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let pods: Vec<&Value> = objects
            .iter()
            .map(|o| &o["spec"]["template"])
            .filter(|t| {
                selector
                    .iter()
                    .all(|(k, v)| &t["metadata"]["labels"][k] == v)
            })
            .collect();
        let names: Vec<&Value> = pods
            .iter()
            .flat_map(|t| t["spec"]["containers"].as_array().into_iter().flatten())
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .map(|p| &p["name"])
            .collect();
        for port in s["spec"]["ports"].as_array().into_iter().flatten() {
            assert!(
                names.contains(&&port["targetPort"]),
                "{}: no pod port {}",
                s["metadata"]["name"],
                port["targetPort"]
            );
        }
    }
}

/// The NATS chart's values: 3 clustered JetStream servers on file storage;
/// its client and headless Services, as `(client URL, monitoring endpoint)`.
fn nats_chart(namespace: &str) -> (String, String) {
    let values = yaml_docs(&read("deploy/k8s/nats/values.yaml")).remove(0);
    let config = &values["config"];
    assert_eq!(config["cluster"]["enabled"], true);
    assert_eq!(config["cluster"]["replicas"], 3);
    assert_eq!(config["jetstream"]["enabled"], true);
    assert_eq!(config["jetstream"]["fileStore"]["enabled"], true);
    let name = values["fullnameOverride"]
        .as_str()
        .expect("fullnameOverride");
    let monitor = config["monitor"]["port"].as_u64().unwrap_or(8222);
    (
        format!("nats://{name}.{namespace}.svc.cluster.local:4222"),
        format!("{name}-headless.{namespace}.svc.cluster.local:{monitor}"),
    )
}

fn check_nats_and_keda(objects: &[Value]) {
    let config = &find(objects, "ConfigMap", "herald-config")["data"];
    let namespace = find(objects, "ConfigMap", "herald-config")["metadata"]["namespace"]
        .as_str()
        .expect("ns");
    let (client_url, monitoring) = nats_chart(namespace);
    assert_eq!(config["HERALD_NATS_URL"], client_url.as_str());
    assert_eq!(config["HERALD_STREAM_REPLICAS"], "3");
    let scaled = objects
        .iter()
        .find(|o| o["kind"] == "ScaledObject")
        .expect("a ScaledObject");
    let target = find(
        objects,
        "Deployment",
        scaled["spec"]["scaleTargetRef"]["name"]
            .as_str()
            .unwrap_or(""),
    );
    let command = strings(&target["spec"]["template"]["spec"]["containers"][0]["command"]);
    assert_eq!(
        command,
        ["herald-dispatcher"],
        "KEDA scales the dispatchers"
    );
    let mut pairs = BTreeSet::new();
    for t in scaled["spec"]["triggers"].as_array().into_iter().flatten() {
        assert_eq!(t["type"], "nats-jetstream");
        assert_eq!(
            t["metadata"]["natsServerMonitoringEndpoint"],
            monitoring.as_str()
        );
        assert!(t["metadata"]["lagThreshold"]
            .as_str()
            .is_some_and(|l| l.parse::<u64>().is_ok()));
        pairs.insert((
            t["metadata"]["stream"].as_str().unwrap_or("").to_string(),
            t["metadata"]["consumer"].as_str().unwrap_or("").to_string(),
        ));
    }
    let real: BTreeSet<(String, String)> = [
        (DELIVERIES_STREAM, DELIVER_CONSUMER),
        (EVENTS_STREAM, FANOUT_CONSUMER),
    ]
    .map(|(s, c)| (s.to_string(), c.to_string()))
    .into();
    assert!(
        pairs.contains(&(DELIVERIES_STREAM.to_string(), DELIVER_CONSUMER.to_string())),
        "{pairs:?}"
    );
    assert!(
        pairs.is_subset(&real),
        "triggers name unknown streams or consumers: {pairs:?}"
    );
}

#[tokio::test]
async fn kubernetes_manifests_render_and_match_the_code() {
    let Some(kubectl) = tool("deploy::k8s", "HERALD_KUBECTL", "kubectl") else {
        return;
    };
    let objects = render(&kubectl, "local");
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Job",
        "Service",
        "PodDisruptionBudget",
    ] {
        assert!(objects.iter().any(|o| o["kind"] == kind), "no {kind}");
    }
    let routes = check_workloads(&objects);
    check_services(&objects);
    check_nats_and_keda(&objects);
    assert!(
        routes.contains(&("herald-ingest", "/readyz".to_string())),
        "{routes:?}"
    );
    assert_served(&routes).await;

    let hpa = render(&kubectl, "local-hpa");
    assert!(
        !hpa.iter().any(|o| o["kind"] == "ScaledObject"),
        "the HPA replaces KEDA"
    );
    let autoscaler = hpa
        .iter()
        .find(|o| o["kind"] == "HorizontalPodAutoscaler")
        .expect("an HPA");
    assert_eq!(
        autoscaler["spec"]["scaleTargetRef"]["name"],
        "herald-dispatcher"
    );
    find(&hpa, "Deployment", "herald-dispatcher");
}
