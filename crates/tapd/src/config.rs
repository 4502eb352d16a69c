//! `tapd serve` configuration: defaults, then an optional TOML file (`--config`), then `TAPD_*`
//! environment variables, then flags. Unknown keys are refused so that a typo fails at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database and the generated keys live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `tapd.db` in the data dir.
    pub database_url: Option<String>,
    /// The URL clients reach tapd at (links, token issuer); default `http://<listen>`.
    pub public_url: Option<String>,
    /// Default domain of the directory, used on first start only.
    pub domain: String,
    /// HMAC key for pass hashes; default `<data_dir>/keys/hmac.key`, created if missing.
    pub hmac_key_file: Option<PathBuf>,
    /// Ed25519 token-signing key (PKCS#8 DER); default `<data_dir>/keys/signing.pk8`.
    pub signing_key_file: Option<PathBuf>,
    /// Sign-in attempts per second per client address (bursts of ten times this).
    pub signin_rate_per_sec: u32,
    /// `text` or `json`.
    pub log_format: String,
    /// Reverse proxies (CIDR blocks) whose `Forwarded` / `X-Forwarded-For` name the client.
    pub trusted_proxies: Vec<String>,
    /// Clients (CIDR blocks) that may read `GET /metrics`; default the loopback addresses.
    pub metrics_from: Vec<String>,
    /// Outgoing mail (one-time links to passes); none by default.
    pub smtp: Option<SmtpSettings>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); with `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM); reloaded with the certificate on SIGHUP.
    pub tls_key_file: Option<PathBuf>,
}

/// `[smtp]`: the server tapd mails one-time links through.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default by `security`: 587 (`starttls`), 465 (`tls`), 25 (`none`).
    pub port: Option<u16>,
    /// `starttls` (the default), `tls` or `none`.
    #[serde(default = "starttls")]
    pub security: tapd_server::mail::SmtpSecurity,
    pub username: Option<String>,
    /// Also `TAPD_SMTP_PASSWORD`, which wins.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// The sender, e.g. `tapd <tapd@contoso.com>`.
    pub from: String,
}

fn starttls() -> tapd_server::mail::SmtpSecurity {
    tapd_server::mail::SmtpSecurity::Starttls
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: PathBuf::from("./tapd-data"),
            database_url: None,
            public_url: None,
            domain: "tapd.local".into(),
            hmac_key_file: None,
            signing_key_file: None,
            signin_rate_per_sec: 20,
            log_format: "text".into(),
            trusted_proxies: Vec::new(),
            metrics_from: vec!["127.0.0.0/8".into(), "::1".into()],
            smtp: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// Flags given on the command line; unset ones don't override lower layers.
#[derive(Debug, Default, Clone, Serialize, clap::Args)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "TAPD_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Data directory [default: ./tapd-data].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://… or postgres://…) [default: SQLite in the data dir].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Public URL of this server.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Default domain, used when the directory is created [default: tapd.local].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// Where the commands that work on the database directly (`recover`, `app`, `keys`) find it:
/// the server's configuration file, data dir or database URL. They never create one.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct DbFlags {
    /// The server's TOML configuration file.
    #[arg(long, env = "TAPD_CONFIG")]
    pub config: Option<PathBuf>,
    /// The server's data directory [default: ./tapd-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The server's database URL (sqlite://… or postgres://…) [default: SQLite in the data dir].
    #[arg(long)]
    pub database_url: Option<String>,
}

impl From<&DbFlags> for Overrides {
    fn from(db: &DbFlags) -> Overrides {
        Overrides {
            config: db.config.clone(),
            data_dir: db.data_dir.clone(),
            database_url: db.database_url.clone(),
            ..Overrides::default()
        }
    }
}

const ENV_KEYS: [&str; 13] = [
    "listen",
    "data_dir",
    "database_url",
    "public_url",
    "domain",
    "hmac_key_file",
    "signing_key_file",
    "signin_rate_per_sec",
    "log_format",
    "trusted_proxies",
    "metrics_from",
    "tls_cert_file",
    "tls_key_file",
];

impl Settings {
    pub fn load(flags: &Overrides) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &flags.config {
            if !path.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "configuration file {} does not exist",
                    path.display()
                ))));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only tapd's own server keys: TAPD_SERVER and TAPD_TOKEN belong to the CLI.
        let mut settings: Settings = figment
            .merge(Env::prefixed("TAPD_").only(&ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)?;
        if !matches!(settings.log_format.as_str(), "text" | "json") {
            return Err(Box::new(figment::Error::from(format!(
                "log_format must be \"text\" or \"json\", not \"{}\"",
                settings.log_format
            ))));
        }
        tapd_server::http::client_addr::TrustedProxies::parse(&settings.trusted_proxies)
            .map_err(|e| Box::new(figment::Error::from(format!("trusted_proxies: {e}"))))?;
        tapd_server::http::client_addr::AddressBlocks::parse(&settings.metrics_from)
            .map_err(|e| Box::new(figment::Error::from(format!("metrics_from: {e}"))))?;
        if let Some(smtp) = &mut settings.smtp {
            if let Ok(password) = std::env::var("TAPD_SMTP_PASSWORD") {
                smtp.password = Some(password);
            }
            tapd_server::mail::Mailer::new(&smtp.config())
                .map_err(|e| Box::new(figment::Error::from(format!("smtp: {e}"))))?;
        }
        settings
            .tls()
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(settings)
    }

    /// The mailer `[smtp]` describes, as checked by [`Settings::load`].
    pub fn mailer(&self) -> Option<tapd_server::mail::Mailer> {
        let smtp = self.smtp.as_ref()?;
        tapd_server::mail::Mailer::new(&smtp.config()).ok()
    }

    /// The trusted proxies, as checked by [`Settings::load`].
    pub fn trusted_proxies(&self) -> tapd_server::http::client_addr::TrustedProxies {
        tapd_server::http::client_addr::TrustedProxies::parse(&self.trusted_proxies)
            .unwrap_or_default()
    }

    /// Who may read `/metrics`, as checked by [`Settings::load`].
    pub fn metrics_from(&self) -> tapd_server::http::client_addr::AddressBlocks {
        tapd_server::http::client_addr::AddressBlocks::parse(&self.metrics_from).unwrap_or_default()
    }

    /// The certificate and key files when TLS is on; one without the other is an error.
    pub fn tls(&self) -> Result<Option<(&Path, &Path)>, String> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => {
                Err("tls_cert_file is set but tls_key_file is not: give both".into())
            }
            (None, Some(_)) => {
                Err("tls_key_file is set but tls_cert_file is not: give both".into())
            }
        }
    }

    /// The URL clients reach tapd at, as far as the settings tell: the public URL, else
    /// `localhost` on a loopback listener (browsers reach tapd so, and passkeys need a host
    /// name, not an IP).
    pub fn public_url(&self) -> Option<String> {
        let scheme = match self.tls() {
            Ok(Some(_)) => "https",
            _ => "http",
        };
        self.public_url.clone().or_else(|| {
            self.listen
                .ip()
                .is_loopback()
                .then(|| format!("{scheme}://localhost:{}", self.listen.port()))
        })
    }

    /// [`Settings::public_url`], or the listen address, without a trailing slash: what to
    /// print for people to open.
    pub fn shown_url(&self) -> String {
        let scheme = match self.tls() {
            Ok(Some(_)) => "https",
            _ => "http",
        };
        let url = self
            .public_url()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen));
        url.trim_end_matches('/').to_string()
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tapd.db").display()
            )
        })
    }

    pub fn key_paths(&self) -> (PathBuf, PathBuf) {
        let keys = self.data_dir.join("keys");
        (
            self.hmac_key_file
                .clone()
                .unwrap_or_else(|| keys.join("hmac.key")),
            self.signing_key_file
                .clone()
                .unwrap_or_else(|| keys.join("signing.pk8")),
        )
    }

    /// Creates the data dir (owner-only) when the database or keys live in it.
    pub fn prepare_data_dir(&self) -> std::io::Result<()> {
        make_private_dir(&self.data_dir)
    }
}

impl SmtpSettings {
    fn config(&self) -> tapd_server::mail::SmtpConfig {
        tapd_server::mail::SmtpConfig {
            host: self.host.clone(),
            port: self.port,
            security: self.security,
            username: self.username.clone(),
            password: self.password.clone(),
            from: self.from.clone(),
        }
    }
}

fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = std::fs::metadata(dir)?.permissions();
        if perms.mode() & 0o077 != 0 {
            perms.set_mode(0o700);
            std::fs::set_permissions(dir, perms)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn layers_apply_in_order() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "tapd.toml",
                "listen = \"127.0.0.1:9000\"\ndomain = \"example.org\"\n",
            )?;
            jail.set_env("TAPD_DOMAIN", "env.example");
            jail.set_env("TAPD_SERVER", "http://ignored");
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                data_dir: Some("/srv/tapd".into()),
                ..Overrides::default()
            };
            let s = Settings::load(&flags).expect("loads");
            assert_eq!(s.listen.port(), 9000, "from the file");
            assert_eq!(s.domain, "env.example", "env beats the file");
            assert_eq!(s.data_dir, PathBuf::from("/srv/tapd"), "flags beat all");
            assert_eq!(s.database_url(), "sqlite:///srv/tapd/tapd.db?mode=rwc");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("tapd.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                ..Overrides::default()
            };
            let err = Settings::load(&flags).expect_err("a typo must fail");
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks_from_the_file_or_the_environment() {
        Jail::expect_with(|jail| {
            jail.create_file("tapd.toml", "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n")?;
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                ..Overrides::default()
            };
            let s = Settings::load(&flags).expect("loads");
            assert_eq!(s.trusted_proxies, ["10.0.0.0/8", "::1"]);
            jail.set_env("TAPD_TRUSTED_PROXIES", "[\"192.168.0.0/16\"]");
            let s = Settings::load(&flags).expect("env");
            assert_eq!(s.trusted_proxies, ["192.168.0.0/16"]);
            jail.set_env("TAPD_TRUSTED_PROXIES", "[\"10.0.0.0/40\"]");
            let err = Settings::load(&flags).expect_err("a bad block fails at start");
            assert!(err.to_string().contains("trusted_proxies"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn tls_needs_both_files() {
        Jail::expect_with(|jail| {
            jail.create_file("tapd.toml", "tls_cert_file = \"/etc/tapd/cert.pem\"\n")?;
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                ..Overrides::default()
            };
            let err = Settings::load(&flags).expect_err("a certificate without its key");
            assert!(err.to_string().contains("tls_key_file"), "{err}");
            jail.set_env("TAPD_TLS_KEY_FILE", "/etc/tapd/key.pem");
            let s = Settings::load(&flags).expect("both");
            assert_eq!(
                s.tls().expect("valid"),
                Some((
                    Path::new("/etc/tapd/cert.pem"),
                    Path::new("/etc/tapd/key.pem")
                ))
            );
            Ok(())
        });
    }

    #[test]
    fn an_unknown_log_format_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("tapd.toml", "log_format = \"yaml\"\n")?;
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                ..Overrides::default()
            };
            let err = Settings::load(&flags).expect_err("yaml is not a log format");
            assert!(err.to_string().contains("log_format"), "{err}");
            jail.create_file("tapd.toml", "log_format = \"json\"\n")?;
            assert_eq!(Settings::load(&flags).expect("json").log_format, "json");
            Ok(())
        });
    }

    #[test]
    fn smtp_is_read_from_its_table_and_checked_at_start() {
        Jail::expect_with(|jail| {
            let flags = Overrides {
                config: Some("tapd.toml".into()),
                ..Overrides::default()
            };
            jail.create_file(
                "tapd.toml",
                "[smtp]\nhost = \"smtp.example.org\"\nusername = \"tapd\"\npassword = \"file\"\nfrom = \"tapd <tapd@example.org>\"\n",
            )?;
            let s = Settings::load(&flags).expect("loads");
            let smtp = s.smtp.clone().expect("smtp");
            assert_eq!(
                smtp.security,
                tapd_server::mail::SmtpSecurity::Starttls,
                "the default"
            );
            assert_eq!(smtp.port, None);
            assert_eq!(smtp.password.as_deref(), Some("file"));
            assert!(s.mailer().is_some());
            jail.set_env("TAPD_SMTP_PASSWORD", "env");
            let s = Settings::load(&flags).expect("loads");
            assert_eq!(
                s.smtp.expect("smtp").password.as_deref(),
                Some("env"),
                "env wins"
            );

            jail.create_file(
                "tapd.toml",
                "[smtp]\nhost = \"h\"\nfrom = \"not an address\"\n",
            )?;
            let err = Settings::load(&flags).expect_err("a bad sender fails at start");
            assert!(err.to_string().contains("smtp"), "{err}");
            jail.create_file(
                "tapd.toml",
                "[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nsecurity = \"ssl\"\n",
            )?;
            assert!(
                Settings::load(&flags).is_err(),
                "security is starttls, tls or none"
            );
            jail.create_file(
                "tapd.toml",
                "[smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nprot = 25\n",
            )?;
            assert!(Settings::load(&flags).is_err(), "unknown keys are refused");
            Ok(())
        });
    }
}
