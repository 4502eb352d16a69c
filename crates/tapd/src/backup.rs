//! `tapd backup` and `tapd restore`: the database and the two key files it can't be used
//! without, in one folder with a manifest (versions, time, SHA-256 of every file). SQLite is
//! copied online, consistently, while the server runs; a PostgreSQL database is dumped by
//! `pg_dump`, whose exact command the backup prints and records. Restore checks the manifest
//! and the hashes first and never overwrites a database or key without `--force`, nor a SQLite
//! database a server has open.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tapd_core::format_time;
use tapd_store::{Dialect, Store};
use time::OffsetDateTime;

use crate::config::Settings;

const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;
const SQLITE_COPY: &str = "tapd.db";
const PG_DUMP: &str = "tapd.pgdump";
const HMAC_KEY: &str = "keys/hmac.key";
const SIGNING_KEY: &str = "keys/signing.pk8";
/// A manifest is a few hundred bytes; anything much larger is not one.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// What a backup folder holds, written last: a folder without it is not a finished backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub tapd_version: String,
    /// The newest migration applied to the database that was backed up.
    pub schema_version: i64,
    pub created: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    pub files: Vec<BackedUpFile>,
    /// PostgreSQL: the command that writes the database's dump into this folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_dump: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackedUpFile {
    /// Relative to the backup folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `tapd backup --to DIR`.
pub async fn backup(
    settings: &Settings,
    store: &Store,
    to: &Path,
    json: bool,
) -> anyhow::Result<()> {
    make_empty_private_dir(to)?;
    make_private_dir(&to.join("keys"))?;
    let database = dialect_name(store.dialect());
    let mut files = Vec::new();
    let mut pg_dump = None;
    match store.dialect() {
        Dialect::Sqlite => {
            let copy = to.join(SQLITE_COPY);
            store
                .backup_sqlite_into(&copy)
                .await
                .with_context(|| format!("copying the database into {}", copy.display()))?;
            restrict(&copy)?;
            files.push(describe(to, SQLITE_COPY)?);
        }
        Dialect::Postgres => {
            pg_dump = Some(format!(
                "pg_dump --format=custom --file {} --dbname {}",
                shell_quote(&to.join(PG_DUMP).display().to_string()),
                shell_quote(&without_password(&settings.database_url()))
            ));
        }
    }
    let schema_version = store
        .schema_version()
        .await
        .context("reading the schema version")?;
    let (hmac, signing) = settings.key_paths();
    for (from, name) in [(&hmac, HMAC_KEY), (&signing, SIGNING_KEY)] {
        copy_private(from, &to.join(name))
            .with_context(|| format!("copying the key file {}", from.display()))?;
        files.push(describe(to, name)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        tapd_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        created: format_time(OffsetDateTime::now_utc()),
        database: database.into(),
        files,
        pg_dump,
    };
    write_private(
        &to.join(MANIFEST),
        &serde_json::to_vec_pretty(&manifest).context("encoding the manifest")?,
    )?;
    if json {
        let mut out = serde_json::to_value(&manifest)?;
        out["directory"] = to.display().to_string().into();
        println!("{out}");
        return Ok(());
    }
    println!(
        "Backup written to {} ({database}, schema version {schema_version}).",
        to.display()
    );
    for f in &manifest.files {
        println!(
            "  {:<18} {:>10} bytes  sha256 {}",
            f.path, f.bytes, f.sha256
        );
    }
    if let Some(cmd) = &manifest.pg_dump {
        println!("Now dump the PostgreSQL database into the same folder:");
        println!("  {cmd}");
    }
    println!("Keep it private: the key files let whoever holds them sign tokens as this server.");
    Ok(())
}

/// `tapd restore --from DIR [--force]`.
pub fn restore(settings: &Settings, from: &Path, force: bool, json: bool) -> anyhow::Result<()> {
    let manifest = read_manifest(from)?;
    for f in &manifest.files {
        verify(from, f)?;
    }
    let configured = Dialect::of_url(&settings.database_url()).with_context(|| {
        format!(
            "unsupported database URL {}",
            without_password(&settings.database_url())
        )
    })?;
    if dialect_name(configured) != manifest.database {
        bail!(
            "the backup in {} is of a {} database, but this configuration uses {}: \
             give the --database-url of a {} database",
            from.display(),
            manifest.database,
            dialect_name(configured),
            manifest.database
        );
    }
    let (hmac, signing) = settings.key_paths();
    let mut targets: Vec<(&str, PathBuf)> = vec![(HMAC_KEY, hmac), (SIGNING_KEY, signing)];
    let sqlite = crate::sqlite_file(&settings.database_url());
    if let Some(db) = &sqlite {
        targets.push((SQLITE_COPY, db.clone()));
    }
    for (name, _) in &targets {
        if !manifest.files.iter().any(|f| f.path == *name) {
            bail!(
                "the manifest in {} lists no {name}: not a complete backup",
                from.display()
            );
        }
    }
    let present: Vec<String> = targets
        .iter()
        .filter(|(_, to)| to.exists())
        .map(|(_, to)| to.display().to_string())
        .collect();
    if !present.is_empty() && !force {
        bail!(
            "{} already exist(s): restore refuses to overwrite them; stop the server and add --force \
             to replace them with the backup",
            present.join(", ")
        );
    }
    // Held until the files are in place, so that no server starts on a half-restored folder.
    let _lock = match &sqlite {
        Some(db) => Some(lock_exclusive(db)?),
        None => None,
    };
    settings
        .prepare_data_dir()
        .with_context(|| format!("data dir {}", settings.data_dir.display()))?;
    // Everything is copied beside its target first, then renamed into place.
    let mut staged = Vec::new();
    for (name, to) in &targets {
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            make_private_dir(parent)?;
        }
        let tmp = sibling(to, ".restoring");
        copy_private(&from.join(name), &tmp)
            .with_context(|| format!("copying {name} to {}", tmp.display()))?;
        staged.push((tmp, to.clone()));
    }
    if let Some(db) = &sqlite {
        // The old database's write-ahead log must not be replayed over the restored file.
        for suffix in ["-wal", "-shm"] {
            let stale = sibling(db, suffix);
            match fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", stale.display())),
            }
        }
    }
    for (tmp, to) in &staged {
        fs::rename(tmp, to).with_context(|| format!("moving {} into place", to.display()))?;
    }
    let pg_restore = (sqlite.is_none()).then(|| {
        format!(
            "pg_restore --clean --if-exists --no-owner --dbname {} {}",
            shell_quote(&without_password(&settings.database_url())),
            shell_quote(&from.join(PG_DUMP).display().to_string())
        )
    });
    let restored: Vec<String> = staged
        .iter()
        .map(|(_, to)| to.display().to_string())
        .collect();
    if json {
        let mut out = serde_json::json!({
            "from": from.display().to_string(),
            "database": manifest.database,
            "schema_version": manifest.schema_version,
            "tapd_version": manifest.tapd_version,
            "restored": restored,
        });
        if let Some(cmd) = &pg_restore {
            out["pg_restore"] = cmd.clone().into();
        }
        println!("{out}");
        return Ok(());
    }
    println!(
        "Restored the backup of {} (tapd {}, schema version {}):",
        manifest.created, manifest.tapd_version, manifest.schema_version
    );
    for path in &restored {
        println!("  {path}");
    }
    if let Some(cmd) = &pg_restore {
        println!("Now load the database dump (into an empty database, or over this one):");
        println!("  {cmd}");
    }
    println!("Start `tapd serve`: it brings the schema up to date if this tapd is newer.");
    Ok(())
}

/// Held by `tapd serve` on a SQLite database (shared: several servers may share the file)
/// and by `tapd restore` (exclusive), so that a restore never swaps the file under a server.
pub struct DatabaseLock(#[allow(dead_code)] File);

pub fn lock_shared(db: &Path) -> anyhow::Result<DatabaseLock> {
    let file = open_lock_file(db)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(DatabaseLock(file)),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "the database {} is being restored (`tapd restore` holds {}); start the server when it is done",
            db.display(),
            lock_path(db).display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path(db).display()))
        }
    }
}

fn lock_exclusive(db: &Path) -> anyhow::Result<DatabaseLock> {
    let file = open_lock_file(db)?;
    match file.try_lock() {
        Ok(()) => Ok(DatabaseLock(file)),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "a tapd server is using the database {}: stop it, then restore",
            db.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path(db).display()))
        }
    }
}

fn lock_path(db: &Path) -> PathBuf {
    sibling(db, ".lock")
}

fn open_lock_file(db: &Path) -> anyhow::Result<File> {
    let path = lock_path(db);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_private_dir(parent)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))
}

/// `path` with `suffix` appended to its file name: `tapd.db` → `tapd.db-wal`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
}

fn read_manifest(from: &Path) -> anyhow::Result<Manifest> {
    let path = from.join(MANIFEST);
    let mut bytes = Vec::new();
    File::open(&path)
        .with_context(|| format!("no backup at {}: {} is missing", from.display(), MANIFEST))?
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        bail!(
            "{} is too large to be a tapd backup manifest",
            path.display()
        );
    }
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a tapd backup manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{} has format {}; this tapd reads format {FORMAT}",
            path.display(),
            manifest.format
        );
    }
    let known = tapd_store::latest_schema_version(match manifest.database.as_str() {
        "sqlite" => Dialect::Sqlite,
        "postgres" => Dialect::Postgres,
        other => bail!("{}: unknown database kind {other:?}", path.display()),
    });
    if manifest.schema_version > known {
        bail!(
            "the backup comes from a newer tapd ({}, schema version {}); this one knows schema \
             versions up to {known}: restore it with that version or newer",
            manifest.tapd_version,
            manifest.schema_version
        );
    }
    Ok(manifest)
}

fn verify(dir: &Path, expected: &BackedUpFile) -> anyhow::Result<()> {
    if ![SQLITE_COPY, HMAC_KEY, SIGNING_KEY].contains(&expected.path.as_str()) {
        bail!("the manifest lists an unexpected file {:?}", expected.path);
    }
    let found = describe(dir, &expected.path)?;
    if found.bytes != expected.bytes || found.sha256 != expected.sha256 {
        bail!(
            "{} does not match the manifest (SHA-256 {}, expected {}): the backup is damaged",
            dir.join(&expected.path).display(),
            found.sha256,
            expected.sha256
        );
    }
    Ok(())
}

/// Size and SHA-256 of `dir/name`.
fn describe(dir: &Path, name: &str) -> anyhow::Result<BackedUpFile> {
    let path = dir.join(name);
    let mut file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes: u64 = 0;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes = bytes.saturating_add(n as u64);
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(BackedUpFile {
        path: name.into(),
        bytes,
        sha256,
    })
}

/// Copies `from` to a new owner-only file `to`, synced to disk.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut src = File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let mut dst = create_private(to)?;
    std::io::copy(&mut src, &mut dst).with_context(|| format!("writing {}", to.display()))?;
    dst.sync_all()
        .with_context(|| format!("syncing {}", to.display()))
}

fn write_private(to: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = create_private(to)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", to.display()))
}

fn create_private(path: &Path) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}

fn make_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

/// The backup folder: new, or empty, so that a backup never mixes with an older one.
fn make_empty_private_dir(dir: &Path) -> anyhow::Result<()> {
    if let Ok(mut entries) = fs::read_dir(dir)
        && entries.next().is_some()
    {
        bail!(
            "{} is not empty: give a new folder for the backup",
            dir.display()
        );
    }
    make_private_dir(dir)
}

/// Single quotes for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The URL without its password: commands that are printed and stored must not carry one
/// (pg_dump and pg_restore take it from PGPASSWORD or ~/.pgpass).
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or(userinfo);
            format!(
                "{}{user}{}{}",
                &url[..scheme_end],
                &authority[at..],
                &rest[authority_end..]
            )
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_urls_carry_no_password() {
        assert_eq!(
            without_password("postgres://tapd:s3cret@db.example:5432/tapd?sslmode=require"),
            "postgres://tapd@db.example:5432/tapd?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(without_password("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn siblings_append_to_the_file_name() {
        assert_eq!(
            sibling(Path::new("/var/lib/tapd/tapd.db"), "-wal"),
            PathBuf::from("/var/lib/tapd/tapd.db-wal")
        );
    }
}
