//! What the Lambda engine needs of AWS, on both sides (the client in
//! gg-engines, the function in gg-worker), on the blocking HTTP client the
//! remote engine already uses: credentials and region as the AWS CLI finds
//! them, SigV4 signing (the aws-sigv4 crate), and an S3 client for the
//! three calls gg makes (get, put, exists).

pub mod credentials;
pub mod s3;
pub mod sign;

pub use credentials::{Credentials, Env, ProcessEnv};
pub use s3::{S3Error, S3Fail, S3};
