//! Test support: a fresh database of each backend for every test (feature `testing`).
//!
//! SQLite is a new file in a temp dir. PostgreSQL is real: the first test in a process starts a
//! throwaway cluster from the machine's `initdb` and `pg_ctl` (PATH, then
//! `/usr/lib/postgresql/*/bin`) in a temp dir on a free port, and every test gets its own
//! database in it. When the process is root (sessions and CI are), the cluster runs as the
//! `postgres` user, because `initdb` refuses root. A watchdog stops the cluster and deletes its
//! directory when the test process exits, however it exits. Set `SWITCHBOARD_TEST_POSTGRES_URL`
//! (a server where the user may `CREATE DATABASE`) to use an existing server instead.
//!
//! With no PostgreSQL to be found the tests fail and say how to install it: they never skip.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::Connection;

use crate::{Backend, ConnectOptions, Store};

/// Makes one test per backend of each async fn named, `name::sqlite` and `name::postgres`, so
/// one backend's failure never hides the other's result: each `name` is an
/// `async fn name(db: TestDatabase)` in scope.
#[macro_export]
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::testing::sqlite()).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::testing::postgres().await).await
            }
        }
    )*};
}

/// A database for one test. Holds what must live as long as the test (the SQLite temp dir).
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh, migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &ConnectOptions::default())
            .await
            .expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

/// A fresh SQLite database file.
pub fn sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
    TestDatabase {
        backend: Backend::Sqlite,
        url,
        _dir: Some(dir),
    }
}

/// A fresh, empty PostgreSQL database in the shared test cluster.
pub async fn postgres() -> TestDatabase {
    let admin = match cluster() {
        Ok(url) => url.clone(),
        Err(why) => panic!("{why}"),
    };
    let name = format!("sbtest_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let url = replace_database(&admin, &name);
    TestDatabase {
        backend: Backend::Postgres,
        url,
        _dir: None,
    }
}

/// One fresh database of each backend: every store test runs on both.
pub async fn each_backend() -> [TestDatabase; 2] {
    [sqlite(), postgres().await]
}

fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();

fn cluster() -> &'static Result<String, String> {
    CLUSTER.get_or_init(|| {
        if let Ok(url) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
            return Ok(url);
        }
        start_cluster()
    })
}

const INSTALL_HINT: &str = "Install PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`; the tests start a \
     throwaway cluster from its initdb and pg_ctl), or set SWITCHBOARD_TEST_POSTGRES_URL to a server where the \
     test user may CREATE DATABASE.";

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn start_cluster() -> Result<String, String> {
    let bin = find_bin_dir().ok_or_else(|| {
        format!("PostgreSQL is needed for the store tests and was not found. {INSTALL_HINT}")
    })?;
    let dir = std::env::temp_dir().join(format!(
        "switchboard-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let as_root = std::fs::metadata(&dir)
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if as_root {
        run(
            Command::new("chown").arg("postgres:postgres").arg(&dir),
            "chown the cluster dir to postgres",
        )?;
    }
    let data = dir.join("data");
    let log = dir.join("postgres.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();

    let as_pg = |program: &Path| {
        if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    };
    run(
        as_pg(&bin.join("initdb")).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]),
        "initdb",
    )?;
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB",
        dir.display()
    );
    run(
        as_pg(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &opts, "-w", "-t", "60", "start"]),
        "pg_ctl start",
    )
    .map_err(|e| format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default()))?;

    // The watchdog outlives nothing: when this process is gone, it stops the cluster and removes
    // its directory. It checks /proc rather than `kill -0`, which a non-root user cannot aim at root.
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; '{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    as_pg(Path::new("sh"))
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the cluster watchdog: {e}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}. {INSTALL_HINT}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h:5", "x"),
            "postgres://u@h:5/x"
        );
    }
}
