//! A browser without JavaScript for the page tests: keeps cookies, never follows redirects,
//! reads forms.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::redirect::Policy;

/// A browser without JavaScript: keeps cookies, never follows redirects, reads forms.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

/// Undoes HTML escaping of an attribute value (`&#38;`, `&amp;`, …).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("an entity ends with ;") + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ => char::from_u32(
                entity
                    .trim_start_matches('#')
                    .parse()
                    .expect("numeric entity"),
            )
            .expect("a character"),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

impl Page {
    /// The value of a form's input `name` (the first one on the page).
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        unescape(&self.body[start..end])
    }

    /// A query parameter of the redirect target.
    pub fn param(&self, name: &str) -> Option<String> {
        let location = self.location.as_deref()?;
        let query = location.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            base: base.to_string(),
            cookies: HashMap::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header("cookie", cookie)
            .send()
            .await
            .expect("request");
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().expect("ascii");
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (k, v) = pair.split_once('=').expect("a cookie");
            if v.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .map(|l| l.to_str().expect("ascii").to_string()),
            body: response.text().await.expect("body"),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(self.url(path));
        self.send(request).await
    }

    pub async fn post_owned(&mut self, path: &str, form: &[(&str, String)]) -> Page {
        let request = self.http.post(self.url(path)).form(form);
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(self.url(path)).form(form);
        self.send(request).await
    }

    /// Posts a `multipart/form-data` form: `fields`, then one file field `(name, file name, bytes)`.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        let boundary = format!("tapd-test-{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, filename, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(self.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Answers the sign-in pages with a pass: name, then code. Returns the last answer.
    pub async fn sign_in_with_tap(&mut self, page: Page, upn: &str, code: &str) -> Page {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let (csrf, authz) = (page.input("csrf"), page.input("authz"));
        let methods = self
            .post(
                "/signin",
                &[("csrf", &csrf), ("authz", &authz), ("username", upn)],
            )
            .await;
        assert!(
            methods.body.contains("Temporary Access Pass"),
            "{}",
            methods.body
        );
        self.post(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("authz", &authz),
                ("username", upn),
                ("code", code),
            ],
        )
        .await
    }
}

impl Browser {
    /// Signs in on `/signin` with a password; answers where the sign-in led.
    pub async fn sign_in_with_password(&mut self, upn: &str, password: &str) -> Page {
        let page = self.get("/signin").await;
        let csrf = page.input("csrf");
        self.post(
            "/signin/password",
            &[("csrf", &csrf), ("username", upn), ("password", password)],
        )
        .await
    }

    /// The CSRF token the pages carry for this browser.
    pub async fn csrf(&mut self) -> String {
        self.get("/signin").await.input("csrf")
    }
}
