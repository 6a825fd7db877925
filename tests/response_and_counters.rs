//! The opt-in route response header, and which counters a configuration has.

// Tests report by panicking.
#![allow(clippy::restriction)]

mod fixtures;

use fixtures::{errors, helloworld, rng, seed_003_rules, table, HELLOWORLD, SEED};

use std::collections::HashMap;

use knative_traffic::request::PlainRequest;
use knative_traffic::Decision;
use serde_json::json;

#[test]
fn the_route_response_header_is_opt_in() {
    let t = table(&helloworld(50, &json!({})));
    if let Decision::Route(r) = t.route(HELLOWORLD, &PlainRequest::default(), &mut rng(SEED)) {
        assert!(r.response_headers().is_empty());
    }
    let mut config = helloworld(50, &json!({}));
    config["routeResponseHeader"] = json!("X-Knative-Route");
    let t = table(&config);
    match t.route(
        "b-helloworld-go.example.example.com",
        &PlainRequest::default(),
        &mut rng(SEED),
    ) {
        Decision::Route(r) => assert_eq!(
            r.response_headers(),
            vec![(
                "x-knative-route",
                "revision=helloworld-go-00002; reason=tag-host".to_string()
            )]
        ),
        other => panic!("{other:?}"),
    }
    // Built with the table, one per revision and reason: every request
    // shares it.
    let header = |host: &str, req: &PlainRequest| match t.route(host, req, &mut rng(SEED)) {
        Decision::Route(r) => r
            .route_response_header()
            .map(|(name, value)| (name, value.clone()))
            .unwrap(),
        other => panic!("{other:?}"),
    };
    let by_tag = PlainRequest::default().with_header("knative-serving-tag", "a");
    let (name, first) = header(HELLOWORLD, &by_tag);
    let (_, second) = header(HELLOWORLD, &by_tag);
    assert_eq!(name, "x-knative-route");
    assert_eq!(&*first, "revision=helloworld-go-00001; reason=tag-header");
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(
        &*header(
            "a-helloworld-go.example.example.com",
            &PlainRequest::default()
        )
        .1,
        "revision=helloworld-go-00001; reason=tag-host"
    );
    let (_, drawn) = header(HELLOWORLD, &PlainRequest::default());
    assert!(
        [
            "revision=helloworld-go-00001; reason=draw",
            "revision=helloworld-go-00002; reason=draw"
        ]
        .contains(&&*drawn),
        "{drawn}"
    );
}

#[test]
fn metric_slots_cover_what_can_happen_and_nothing_else() {
    let t = table(&helloworld(100, &seed_003_rules()));
    let names: HashMap<_, String> = t.metrics().collect();
    let prefix = "knative_traffic.requests.namespace.example.service.helloworld-go";
    let mut listed: Vec<&str> = names
        .values()
        .map(|n| n.strip_prefix(prefix).unwrap())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ".reason.not-found",
            ".revision.helloworld-go-00001.reason.draw",
            ".revision.helloworld-go-00001.reason.rule",
            ".revision.helloworld-go-00001.reason.tag-header",
            ".revision.helloworld-go-00001.reason.tag-host",
            ".revision.helloworld-go-00002.reason.rule",
            ".revision.helloworld-go-00002.reason.tag-header",
            ".revision.helloworld-go-00002.reason.tag-host",
        ],
        "00002 is at 0%: it is never drawn"
    );
    // Slots are dense, and every decision's slot names its own route.
    let mut slots: Vec<usize> = names.keys().map(|slot| slot.index()).collect();
    slots.sort();
    assert_eq!(slots, (0..names.len()).collect::<Vec<_>>());
    for (host, req) in [
        (HELLOWORLD, PlainRequest::default()),
        (HELLOWORLD, PlainRequest::default().with_header("wid", "b")),
        (
            HELLOWORLD,
            PlainRequest::default().with_header("knative-serving-tag", "a"),
        ),
        (
            "b-helloworld-go.example.example.com",
            PlainRequest::default(),
        ),
        (
            "z-helloworld-go.example.example.com",
            PlainRequest::default(),
        ),
    ] {
        let decision = t.route(host, &req, &mut rng(SEED));
        let name = &names[&decision.metric_slot().unwrap()];
        match &decision {
            Decision::Route(r) => assert_eq!(
                name,
                &format!(
                    "{prefix}.revision.{}.reason.{}",
                    r.destination.revision,
                    r.reason.as_str()
                )
            ),
            Decision::NoSuchTag(_) => assert!(name.ends_with(".reason.not-found")),
            Decision::PassThrough => unreachable!(),
        }
    }
    let mut off = helloworld(50, &json!({}));
    off["metrics"] = json!(false);
    let t = table(&off);
    assert_eq!(t.metrics().count(), 0);
    assert_eq!(
        t.route(HELLOWORLD, &PlainRequest::default(), &mut rng(SEED))
            .metric_slot(),
        None
    );
}

#[test]
fn revisions_that_would_share_a_counter_are_refused() {
    let config = json!({"services": [{
        "name": "web", "namespace": "ns",
        "traffic": [
            {"revisionName": "web.1", "percent": 50},
            {"revisionName": "web_1", "percent": 30},
            {"revisionName": "web:1", "percent": 20}
        ]
    }]});
    assert_eq!(
        errors(&config),
        [
            "services[0] (web): revisions \"web.1\" and \"web_1\" would count into one counter (revision.web_1): counter names write every character but letters, digits, '-' and '_' as '_'; rename one, or set \"metrics\": false",
            "services[0] (web): revisions \"web.1\" and \"web:1\" would count into one counter (revision.web_1): counter names write every character but letters, digits, '-' and '_' as '_'; rename one, or set \"metrics\": false",
        ]
    );
    // Without counters nothing is shared; names differing in case or by a
    // dash stay apart.
    let mut off = config.clone();
    off["metrics"] = json!(false);
    assert_eq!(errors(&off), Vec::<String>::new());
    let apart = json!({"services": [{
        "name": "web", "namespace": "ns",
        "traffic": [
            {"revisionName": "web-1", "percent": 50},
            {"revisionName": "Web-1", "percent": 50}
        ]
    }]});
    assert_eq!(errors(&apart), Vec::<String>::new());
}
