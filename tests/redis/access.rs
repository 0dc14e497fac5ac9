//! Signing in and TLS: `requirepass` and a least-privilege ACL user (password never
//! echoed), `rediss://` with a private CA in `ca_file`, and settings refused up front.

use std::time::Duration;

use tokengate::revocation::redis::{RedisSettings, RedisStore};
use tokengate::revocation::{OnUnavailable, Revocations, Store};

use crate::replicas::*;
use crate::server::{self, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_acl_users_sign_in_and_a_wrong_password_is_refused_unlogged() {
    require_redis!();
    let redis = RedisServer::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        "default-s3cret",
        "--user",
        "tokengate",
        "on",
        ">p@ss/w0rd",
        "~tokengate:*",
        // Exactly the commands the store sends (README lists them).
        "+set",
        "+del",
        "+xadd",
        "+multi",
        "+exec",
        "+xrange",
        "+xrevrange",
        "+xread",
        "+scan",
        "+mget",
    ]);
    for url in [
        format!("redis://:default-s3cret@127.0.0.1:{}/0", redis.port),
        format!("redis://tokengate:p%40ss%2Fw0rd@127.0.0.1:{}/0", redis.port),
    ] {
        let r = Replica::start(&settings(&url));
        r.wait_loaded(Duration::from_secs(5)).await;
        r.add("signed-in").await;
        assert!(r.refuses("signed-in"));
        // The reader keeps reading (XREAD allowed): the list stays fresh.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let age = r.list.sync_age(now_ms()).unwrap();
        assert!(age < Duration::from_millis(1200), "{age:?}");
    }
    let wrong = format!("redis://tokengate:wrong-s3cret@127.0.0.1:{}/0", redis.port);
    let r = Replica::start(&settings(&wrong));
    let err = r.store.add(session("x")).await.unwrap_err().to_string();
    assert!(!err.contains("wrong-s3cret"), "{err}");
    assert!(
        err.contains("WRONGPASS") || err.to_lowercase().contains("auth"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!r.list.is_loaded());
    let shown = format!("{:?}", settings(&wrong));
    assert!(!shown.contains("wrong-s3cret"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_connects_and_a_server_outside_it_is_refused() {
    require_redis!();
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let make_ca = || {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = make_ca();
    let stranger = make_ca();
    let dir = std::env::temp_dir().join(format!("tg-redis-tls-{}", server::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    std::fs::write(path("server.crt"), leaf.pem()).unwrap();
    std::fs::write(path("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(path("ca.crt"), ca.pem()).unwrap();
    std::fs::write(path("stranger.crt"), stranger.pem()).unwrap();
    let redis = RedisServer::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--tls-port",
        "--tls-cert-file",
        &path("server.crt"),
        "--tls-key-file",
        &path("server.key"),
        "--tls-ca-cert-file",
        &path("ca.crt"),
        "--tls-auth-clients",
        "no",
    ]);
    for host in ["127.0.0.1", "localhost"] {
        let mut s = settings(&format!("rediss://{host}:{}/0", redis.port));
        s.ca_file = Some(path("ca.crt").into());
        let r = Replica::start(&s);
        r.wait_loaded(Duration::from_secs(5)).await;
        r.add(host).await;
        assert!(r.refuses(host));
    }
    let mut s = settings(&format!("rediss://127.0.0.1:{}/0", redis.port));
    s.ca_file = Some(path("stranger.crt").into());
    let r = Replica::start(&s);
    let err = r.store.add(session("x")).await.unwrap_err().to_string();
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
    // Web PKI roots alone do not trust a private CA either.
    let r = Replica::start(&settings(&format!("rediss://127.0.0.1:{}/0", redis.port)));
    assert!(r.store.add(session("x")).await.is_err());
    // A plain client is not served on the TLS port.
    let plain = Replica::start(&settings(&format!("redis://127.0.0.1:{}/0", redis.port)));
    assert!(plain.store.add(session("x")).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn settings_refuse_ca_file_without_tls_and_sentinel_urls() {
    let list = std::sync::Arc::new(Revocations::new(None, OnUnavailable::Deny));
    let mut s = RedisSettings::new("redis://127.0.0.1:6379/0");
    s.ca_file = Some("/nonexistent.pem".into());
    assert!(RedisStore::new(&s, list.clone()).is_err());
    let s = RedisSettings::new("redis+sentinel://u:s3cret@h:26379/mymaster");
    let err = RedisStore::new(&s, list.clone()).err().unwrap().to_string();
    assert!(!err.contains("s3cret"), "{err}");
    let mut s = RedisSettings::new("rediss://h:6380");
    s.ca_file = Some("/nonexistent.pem".into());
    assert!(RedisStore::new(&s, list).is_err());
}
