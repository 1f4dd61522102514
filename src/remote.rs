//! Sources kept where dumps are kept: object stores (`s3://`, `gs://`, `az://`) and HTTP(S), read
//! by range requests through the `object_store` crate, which Polars' own cloud readers use.
//!
//! A remote object is read as a regular file is: at explicit offsets ([`Remote::read_at`]), so the
//! whole-file reader's threads each fetch their own part of it (concurrent range requests) and a
//! split fetches only its own bytes and those near its edges. A compressed object is read as a
//! stream of large ranges, one after another.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::path::Path as StorePath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, ObjectStoreScheme, RetryConfig};
use url::Url;

use crate::error::ReadError;

/// URL schemes read as remote objects.
const SCHEMES: [&str; 10] = ["s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "http", "https"];

/// Whether `text` names a remote object (or a pattern of them) rather than a local path.
pub fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// Requests are retried this many times, for at most this long, before the read fails: an
/// unreachable store is named within seconds rather than the minutes of the crate's default.
const RETRIES: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The runtime the blocking reads wait on: one for the process, made on first use.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("marc-polars-io")
            .enable_all()
            .build()
            .expect("a runtime for remote reads")
    })
}

/// One remote object, its length asked for once.
#[derive(Debug)]
pub struct Remote {
    pub url: String,
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    len: OnceLock<u64>,
}

impl Remote {
    /// The object at `url`, in a store configured by `options` (the keys Polars' `storage_options`
    /// take, e.g. `aws_endpoint_url`, `aws_region`, `allow_http`), over credentials and settings
    /// from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`) where `options` do not give them.
    /// Nothing is fetched yet.
    pub fn new(url: &str, options: &[(String, String)]) -> Result<Remote, ReadError> {
        let (store, path) = store(url, options)?;
        Ok(Remote { url: url.to_string(), store, path, len: OnceLock::new() })
    }

    /// The object's length, from one HEAD request.
    #[allow(clippy::len_without_is_empty)] // a length that may fail to be known, asked for once
    pub fn len(&self) -> io::Result<u64> {
        if let Some(len) = self.len.get() {
            return Ok(*len);
        }
        let meta = runtime().block_on(self.store.head(&self.path)).map_err(io_error)?;
        Ok(*self.len.get_or_init(|| meta.size))
    }

    /// Reads bytes from `offset` on into `buf`, in one range request: as many as there are, up to
    /// its length; 0 at the end.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let end = (offset.saturating_add(buf.len() as u64)).min(self.len()?);
        if offset >= end {
            return Ok(0);
        }
        let bytes = runtime().block_on(self.store.get_range(&self.path, offset..end)).map_err(io_error)?;
        let read = bytes.len().min(buf.len());
        buf[..read].copy_from_slice(&bytes[..read]);
        Ok(read)
    }
}

/// A remote object read from its start as a stream, a range of `block` bytes at a time.
pub struct RemoteReader {
    remote: Arc<Remote>,
    position: u64,
}

impl RemoteReader {
    pub fn new(remote: Arc<Remote>) -> Self {
        RemoteReader { remote, position: 0 }
    }
}

impl io::Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.remote.read_at(buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

/// The URLs of the objects that match `pattern` (a URL whose path holds `*`, `?` or `[...]`; `**`
/// spans folders), sorted: the store is listed from the folder before the first wildcard on.
/// HTTP servers list nothing: a pattern over HTTP is an error.
pub fn glob(pattern: &str, options: &[(String, String)]) -> Result<Vec<String>, ReadError> {
    let wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    let root = &pattern[..pattern[..wildcard].rfind('/').map_or(wildcard, |slash| slash + 1)];
    let unlisted = |why: String| ReadError::Io { source_name: pattern.to_string(), error: io::Error::other(why) };
    let url = Url::parse(root).map_err(|e| unlisted(format!("not a URL: {e}")))?;
    let (scheme, _) = ObjectStoreScheme::parse(&url).map_err(|e| unlisted(e.to_string()))?;
    if scheme == ObjectStoreScheme::Http {
        return Err(unlisted("an HTTP server lists no files: name each URL rather than a pattern".into()));
    }
    let (store, prefix) = store(root, options)?;
    let matcher = glob::Pattern::new(pattern).map_err(|e| unlisted(format!("not a pattern: {e}")))?;
    let rules = glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };
    let origin = &url[..url::Position::BeforePath];
    let listed = runtime().block_on(async {
        use futures::TryStreamExt;
        store.list(Some(&prefix)).try_collect::<Vec<_>>().await
    });
    let listed = listed.map_err(|error| ReadError::Io { source_name: pattern.to_string(), error: io_error(error) })?;
    let mut urls: Vec<String> = listed
        .into_iter()
        .map(|meta| format!("{origin}/{}", meta.location))
        .filter(|url| matcher.matches_with(url, rules))
        .collect();
    urls.sort();
    if urls.is_empty() {
        let error = io::Error::new(io::ErrorKind::NotFound, "no object matches the pattern");
        return Err(ReadError::Io { source_name: pattern.to_string(), error });
    }
    Ok(urls)
}

/// The store `url` lies in, and its path there.
fn store(url: &str, options: &[(String, String)]) -> Result<(Arc<dyn ObjectStore>, StorePath), ReadError> {
    let invalid =
        |why: String| ReadError::Io { source_name: url.to_string(), error: io::Error::new(io::ErrorKind::InvalidInput, why) };
    let parsed = Url::parse(url).map_err(|e| invalid(format!("not a URL: {e}")))?;
    let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| invalid(e.to_string()))?;
    let retry = RetryConfig { max_retries: RETRIES, retry_timeout: RETRY_TIMEOUT, ..Default::default() };
    let client = ClientOptions::new().with_connect_timeout(CONNECT_TIMEOUT);
    let settings = settings(options);
    // Settings after the client options and retries, which would replace the ones they set
    // (`allow_http`, timeouts).
    macro_rules! build {
        ($builder:expr) => {{
            let builder = $builder.with_client_options(client).with_retry(retry);
            let builder = settings.iter().fold(builder, |builder, (key, value)| match key.parse() {
                Ok(key) => builder.with_config(key, value),
                Err(_) => builder,
            });
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(|e| invalid(e.to_string()))?);
            store
        }};
    }
    let store = match scheme {
        ObjectStoreScheme::AmazonS3 => build!(object_store::aws::AmazonS3Builder::new().with_url(url)),
        ObjectStoreScheme::GoogleCloudStorage => build!(object_store::gcp::GoogleCloudStorageBuilder::new().with_url(url)),
        ObjectStoreScheme::MicrosoftAzure => build!(object_store::azure::MicrosoftAzureBuilder::new().with_url(url)),
        // An HTTP store's root is the server: the path is the object's.
        ObjectStoreScheme::Http => build!(object_store::http::HttpBuilder::new().with_url(&parsed[..url::Position::BeforePath])),
        other => return Err(invalid(format!("{other:?} URLs are read as local paths"))),
    };
    Ok((store, path))
}

/// The store's settings: those of the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as the crate's
/// `from_env` builders read them), then `options`, lower-cased, which override them.
fn settings(options: &[(String, String)]) -> Vec<(String, String)> {
    let from_env = std::env::vars()
        .filter(|(key, _)| ["AWS_", "GOOGLE_", "AZURE_"].iter().any(|prefix| key.starts_with(prefix)))
        .map(|(key, value)| (key.to_ascii_lowercase(), value));
    from_env.chain(options.iter().map(|(key, value)| (key.to_ascii_lowercase(), value.clone()))).collect()
}

/// A store's error as an I/O error of the matching kind, so that Python raises the usual
/// subclass of `OSError` (`FileNotFoundError`, `PermissionError`).
fn io_error(error: object_store::Error) -> io::Error {
    let kind = match &error {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            io::ErrorKind::PermissionDenied
        }
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, error.to_string())
}
