//! gg-wire: what crosses between gg's client engines (gg-engines) and the
//! executors they drive (gg-worker's HTTP server and its Lambda function).
//! Both sides import it and neither imports the other, so a change to the
//! wire is made once: the worker API's JSON bodies, the Lambda payload and
//! its S3 keys, AWS credentials, SigV4 and the S3 client both use,
//! spooling a blob to the store while hashing it, a small thread fan-out
//! for S3 round trips, and the certificate fingerprint a worker prints and
//! a client pins, and the timeouts of a cache.

pub mod aws;
pub mod fanout;
pub mod fingerprint;
pub mod payload;
pub mod protocol;
pub mod spool;
pub mod timeouts;
