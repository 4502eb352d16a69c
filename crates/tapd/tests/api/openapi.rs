//! The OpenAPI document at `/openapi.json`: it describes every JSON route, and what the server
//! really answers fits it — each answer below is checked against the schema the document gives
//! for its operation and status, and may carry no property the schema doesn't name.

use serde_json::{Value, json};

use crate::helpers::*;

async fn document(app: &TestApp) -> Value {
    let r = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .expect("GET /openapi.json");
    assert_eq!(r.status(), 200);
    r.json().await.expect("JSON")
}

/// Follows `#/components/...` references.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = r.strip_prefix('#').expect("a local reference");
        schema = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {r}"));
    }
    schema
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A small JSON Schema check (what utoipa writes: `$ref`, `type`, `properties`, `required`,
/// `items`, `oneOf`, literal `pattern`s) that also refuses properties the schema doesn't name.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = options
            .iter()
            .filter(|s| {
                let mut e = Vec::new();
                check(doc, s, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if fits != 1 {
            errors.push(format!("{at}: fits {fits} of the oneOf options: {v}"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let actual = type_name(v);
        let allowed: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            errors.push(format!("{at}: {actual} where the schema says {t}"));
            return;
        }
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
        let literal = p
            .trim_start_matches('^')
            .trim_end_matches('$')
            .replace("\\.", ".");
        if literal != s {
            errors.push(format!("{at}: '{s}' does not match {p}"));
        }
    }
    if let Value::Object(o) = v {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    errors.push(format!("{at}: required '{r}' is missing"));
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, item) in o {
                match props.get(k) {
                    Some(s) => check(doc, s, item, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: '{k}' is not in the schema")),
                }
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, s, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Sends one request and checks the answer against the document's operation `template`.
async fn conforms(
    app: &TestApp,
    doc: &Value,
    token: Option<&str>,
    (method, template, path): (&str, &str, &str),
    body: Option<Value>,
) -> Value {
    let mut req = reqwest::Client::new()
        .request(
            method.parse().expect("method"),
            format!("{}{path}", app.base),
        )
        .header("ConsistencyLevel", "eventual");
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    fits(doc, (method, template, path), status, &text)
}

/// Checks one answer against what the document says `method template` answers with `status`.
fn fits(
    doc: &Value,
    (method, template, path): (&str, &str, &str),
    status: u16,
    text: &str,
) -> Value {
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    let response = op["responses"]
        .get(status.to_string())
        .or_else(|| op["responses"].get("default"))
        .unwrap_or_else(|| panic!("{method} {path}: status {status} is not documented"));
    let response = resolve(doc, response);
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(text.is_empty(), "{method} {path}: undocumented body {text}");
        return Value::Null;
    };
    let (media, described) = content.iter().next().expect("a media type");
    if media != "application/json" {
        return Value::String(text.to_string());
    }
    let v: Value = serde_json::from_str(text).expect("a JSON answer");
    let mut errors = Vec::new();
    check(doc, &described["schema"], &v, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {path} ({status}) breaks its schema:\n{}",
        errors.join("\n")
    );
    v
}

#[tokio::test]
async fn the_document_describes_the_api_and_its_answers_fit_it() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], app.base);
    // Every operation has its error answer; every reference resolves.
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            assert!(
                op["responses"].get("default").is_some(),
                "{method} {path} has no error answer"
            );
        }
    }
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"").skip(1) {
        let target = &r[..r.find('"').expect("end of ref")];
        resolve(&doc, &json!({ "$ref": target }));
    }
    for expected in [
        "/v1.0/users",
        "/v1.0/users/{id}",
        "/v1.0/users/{user}/authentication/temporaryAccessPassMethods",
        "/v1.0/groups/{id}/members/$ref",
        "/v1.0/applications/{id}/addPassword",
        "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}",
        "/v1.0/$batch",
        "/api/signin/tap",
        "/oauth2/v2.0/token",
        "/healthz",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not described");
    }
    // The pages are not the API.
    assert!(!paths.contains_key("/signin") && !paths.contains_key("/admin/users"));

    let token = app.admin.token().expect("admin token");
    let t = Some(token);
    let user = app.create_user("ann").await;
    let checks: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "POST",
            "/v1.0/users/{user}/authentication/temporaryAccessPassMethods",
            format!(
                "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
                user.id
            ),
            Some(json!({"isUsableOnce": true})),
        ),
        (
            "GET",
            "/v1.0/users",
            "/v1.0/users?$count=true&$top=1".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/users",
            "/v1.0/users?$select=displayName".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/users/{id}",
            format!("/v1.0/users/{}", user.upn),
            None,
        ),
        ("GET", "/v1.0/me", "/v1.0/me".into(), None),
        (
            "GET",
            "/v1.0/users/{user}/authentication/methods",
            format!("/v1.0/users/{}/authentication/methods", app.admin_user.id),
            None,
        ),
        (
            "GET",
            "/v1.0/users/{user}/authentication/temporaryAccessPassMethods",
            format!(
                "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
                user.id
            ),
            None,
        ),
        (
            "POST",
            "/v1.0/groups",
            "/v1.0/groups".into(),
            Some(
                json!({"displayName": "Staff", "mailEnabled": false, "mailNickname": "staff", "securityEnabled": true}),
            ),
        ),
        ("GET", "/v1.0/groups", "/v1.0/groups".into(), None),
        (
            "POST",
            "/v1.0/applications",
            "/v1.0/applications".into(),
            Some(
                json!({"displayName": "Payroll", "web": {"redirectUris": ["https://payroll.example/cb"]}}),
            ),
        ),
        (
            "GET",
            "/v1.0/applications",
            "/v1.0/applications".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/roleManagement/directory/roleDefinitions",
            "/v1.0/roleManagement/directory/roleDefinitions".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/roleManagement/directory/roleAssignments",
            "/v1.0/roleManagement/directory/roleAssignments".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/policies/authenticationMethodsPolicy",
            "/v1.0/policies/authenticationMethodsPolicy".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
            "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/reports/authenticationMethods/userRegistrationDetails",
            "/v1.0/reports/authenticationMethods/userRegistrationDetails".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/auditLogs/directoryAudits",
            "/v1.0/auditLogs/directoryAudits".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/auditLogs/signIns",
            "/v1.0/auditLogs/signIns".into(),
            None,
        ),
        (
            "POST",
            "/v1.0/$batch",
            "/v1.0/$batch".into(),
            Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}]})),
        ),
        (
            "GET",
            "/v1.0/users/{id}",
            "/v1.0/users/nobody@nowhere.test".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/users",
            "/v1.0/users?$filter=bogus eq 1".into(),
            None,
        ),
        (
            "GET",
            "/v1.0/users/$count",
            "/v1.0/users/$count".into(),
            None,
        ),
        ("GET", "/healthz", "/healthz".into(), None),
        (
            "GET",
            "/.well-known/openid-configuration",
            "/.well-known/openid-configuration".into(),
            None,
        ),
        (
            "GET",
            "/discovery/v2.0/keys",
            "/discovery/v2.0/keys".into(),
            None,
        ),
        ("GET", "/oidc/userinfo", "/oidc/userinfo".into(), None),
        (
            "POST",
            "/api/signin/start",
            "/api/signin/start".into(),
            Some(json!({"username": user.upn})),
        ),
    ];
    let mut answers = Vec::new();
    for (method, template, path, body) in checks {
        answers.push(conforms(&app, &doc, t, (method, template, &path), body).await);
    }
    // The pass created first signs in through the JSON API, whose answer fits too.
    let code = answers[0]["temporaryAccessPass"]
        .as_str()
        .expect("the code")
        .to_string();
    let session = conforms(
        &app,
        &doc,
        None,
        ("POST", "/api/signin/tap", "/api/signin/tap"),
        Some(json!({"username": user.upn, "code": code})),
    )
    .await;
    assert!(session["access_token"].is_string());
    // An app's secret and the token endpoint's answer.
    let app_id = answers[9]["id"].as_str().expect("app id").to_string();
    let secret = conforms(
        &app,
        &doc,
        t,
        (
            "POST",
            "/v1.0/applications/{id}/addPassword",
            &format!("/v1.0/applications/{app_id}/addPassword"),
        ),
        Some(json!({"passwordCredential": {"displayName": "ci"}})),
    )
    .await;
    assert!(secret["secretText"].is_string());
    // An invitation, and a confidential app's token, introspected.
    conforms(
        &app,
        &doc,
        t,
        ("POST", "/v1.0/invitations", "/v1.0/invitations"),
        Some(json!({"invitedUserEmailAddress": "guest@partner.example", "inviteRedirectUrl": "https://myapps.example"})),
    )
    .await;
    let (client_id, client_secret) = app.register_app(&[]).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/oauth2/v2.0/token", app.base))
        .form(&form)
        .send()
        .await
        .expect("token");
    let status = r.status().as_u16();
    let tokens = fits(
        &doc,
        ("POST", "/oauth2/v2.0/token", "/oauth2/v2.0/token"),
        status,
        &r.text().await.expect("body"),
    );
    let access = tokens["access_token"].as_str().expect("a token");
    let r = http
        .post(format!("{}/oauth2/v2.0/introspect", app.base))
        .form(&[
            ("token", access),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ])
        .send()
        .await
        .expect("introspect");
    let status = r.status().as_u16();
    let found = fits(
        &doc,
        ("POST", "/oauth2/v2.0/introspect", "/oauth2/v2.0/introspect"),
        status,
        &r.text().await.expect("body"),
    );
    assert_eq!(found["active"], true);
}
