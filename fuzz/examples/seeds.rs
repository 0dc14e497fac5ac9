//! Writes the seed corpora under `fuzz/seeds/<target>/` from the test fixtures: tokens
//! signed by the fixture key (valid until 2096), paths, original-request headers, JWKS
//! documents, the shipped configuration files, revocation requests and identity claims.
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`

use std::path::Path;

use serde_json::json;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("seed dir");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let key = tokengate_fuzz::key();
    let iss = tokengate_fuzz::ISS;
    let access = json!({"sub": "u-1", "iss": iss, "token_use": "access", "client_id": "client",
        "username": "alice", "scope": "openid orders/read", "cognito:groups": ["admin", "sales,emea"],
        "exp": 4_000_000_000u64, "iat": 1_700_000_000u64, "jti": "j", "origin_jti": "o"});
    let id = json!({"sub": "u-1", "iss": iss, "token_use": "id", "aud": "client",
        "cognito:username": "alice", "email": "a@example.com", "exp": 4_000_000_000u64,
        "identities": [{"providerName": "Google", "userId": "1", "primary": "true"}],
        "custom:tenant": "acme", "custom:n": 5, "flag": true, "obj": {"a": [1, null]}});
    let m2m = json!({"sub": "client", "iss": iss, "token_use": "access", "client_id": "client",
        "scope": "orders/read orders/write", "exp": 4_000_000_000u64, "iat": 1_700_000_000u64});
    for (name, claims) in [("access", &access), ("id", &id), ("m2m", &m2m)] {
        let token = key.sign(claims).expect("sign");
        write("token_verify", name, token.as_bytes());
    }
    write("token_verify", "garbage", b"eyJhbGciOiJub25lIn0.e30.");
    for (i, path) in ["/", "/api/v1/orders", "/public/../admin", "/a/%2e%2e/b", "//x//y/",
        "/%61dmin/x%3ay", "/a;b", "/a%2Fb", "/caf%C3%A9/", "/./a/./b/."].iter().enumerate() {
        write("path_normalize", &i.to_string(), path.as_bytes());
    }
    for (i, seed) in [&b"GET\0/admin/x\0/admin/x\0/\0"[..], b"POST\0/public?x=1\0\0/auth\0",
        b"\0\0/a#b\0/ext/x\0/ext", b"DELETE\0/x\0/y\0/\0"].iter().enumerate() {
        write("authz_original", &i.to_string(), seed);
    }
    write("jwks_document", "fixture", key.jwks().to_string().as_bytes());
    write("jwks_document", "mixed", json!({"keys": [key.jwk(), {"kty": "EC", "crv": "P-256",
        "kid": "e", "x": "AA", "y": "AA"}, {"kty": "oct", "k": "c2VjcmV0"}, key.jwk()]})
        .to_string().as_bytes());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut configs = vec![root.join("config/tokengate.yaml")];
    if let Ok(dir) = std::fs::read_dir(root.join("config/examples")) {
        configs.extend(dir.flatten().map(|e| e.path()));
    }
    for path in configs {
        if let (Ok(text), Some(name)) = (std::fs::read(&path), path.file_name()) {
            write("config_yaml", &name.to_string_lossy(), &text);
        }
    }
    for (i, body) in [json!({"issuer": "main", "origin_jti": "o"}), json!({"issuer": "main",
        "sub": "u", "before": 1_700_000_000}), json!({"issuer": "other", "client_id": "c"}),
        json!({"issuer": "main", "jti": "j", "created_at": 1, "expires_at": 2})].iter().enumerate() {
        write("revocation_entry", &i.to_string(), body.to_string().as_bytes());
    }
    let bearer = format!("Bearer {}", key.sign(&access).expect("sign"));
    for (i, seed) in [format!("{bearer}\0id_token=a.b.c\0x=1\0access_token=q.r.s&x=1"),
        "Basic dXNlcg==\0id_token=\"a.b\"; id_token=a.b\0\0access_token=%61.b&access_token=a.b".into()]
        .iter().enumerate() {
        write("token_extract", &i.to_string(), seed.as_bytes());
    }
    let alb = tokengate_fuzz::alb_key();
    let alb_header = json!({"typ": "JWT", "kid": tokengate_fuzz::ALB_KID, "alg": "ES256",
        "iss": iss, "client": "client", "signer": tokengate_fuzz::ALB_ARN, "exp": 4_000_000_000u64});
    let alb_payload = json!({"sub": "u-1", "email_verified": "true", "email": "a@example.com",
        "username": "alice", "exp": 4_000_000_000u64, "iss": iss});
    write("alb_token", "padded", alb.sign_alb(&alb_header, &alb_payload).expect("sign").as_bytes());
    write("alb_token", "unpadded", alb.sign_with_header(&alb_header, &alb_payload).expect("sign").as_bytes());
    write("alb_token", "quarkus-34300", include_bytes!("../../tests/fixtures/alb/quarkus-34300.jwt"));
    write("pem_key", "alb", include_bytes!("../../tests/fixtures/alb/quarkus-34300.pem"));
    write("pem_key", "dev", alb.public_pem().expect("ec key").as_bytes());
    write("pem_key", "rsa", include_bytes!("../../tests/fixtures/keys/issuer-rsa2048.pub.pem"));
    write("pem_key", "json", b"{\"keys\": []}");
    // Mode byte (even: a string claim; odd: a JSON claim), then the claim.
    for (i, seed) in [&b"\0alice"[..], b"\0a\r\nx-auth-sub: root 50% \x7f Zo\xC3\xAB",
        b"\0sales,emea%2C", b"\x01[\"sales,emea\",\"users\",\"50%\",\"\"]",
        b"\x01{\"a\":[1,null],\"k\":\"v,w\\n\\u007f\"}", b"\x01[1,true,null,{\"a\":[1,2]},[\"x\"]]",
        b"\x011e300", b"\x01\"\\u0000%\\t\""].iter().enumerate() {
        write("identity_header", &i.to_string(), seed);
    }
}
