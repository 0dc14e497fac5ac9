//! Smoke: a valid token reaches the upstream with identity.

use crate::harness::*;

#[test]
fn smoke_valid_token_is_forwarded() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&serde_json::json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("us-east-1_Test");
    let config = format!("server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: http://{upstream} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n    token_use: [access, id]\n");
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&iss, "alice", &["admin"]));
    let r = tg.send(&get_with("/x", &[&bearer(&token)]));
    assert_eq!(r.status, 200, "{}", tg.output());
    assert_eq!(
        r.upstream_header("x-auth-username").as_deref(),
        Some("alice")
    );
}
