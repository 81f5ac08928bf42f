//! Signature Version 4 on an `http` request, through the aws-sigv4 crate:
//! the Invoke API (service `lambda`) and S3 (service `s3`, which hashes the
//! payload into `x-amz-content-sha256` and encodes paths once).

use std::time::SystemTime;

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    sign as sigv4, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use ureq::http::Request;

use super::credentials::Credentials;

/// Which service a request is for; S3 signs differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Lambda,
    S3,
}

/// Adds the `Authorization`, `X-Amz-Date` (and, with temporary
/// credentials, `X-Amz-Security-Token`) headers for `body`; `None` signs
/// for an unsigned payload (S3 only: `UNSIGNED-PAYLOAD`).
pub fn sign<B>(
    req: &mut Request<B>,
    body: Option<&[u8]>,
    service: Service,
    region: &str,
    creds: &Credentials,
) -> Result<(), String> {
    let identity: Identity = AwsCredentials::new(
        creds.access_key.clone(),
        creds.secret_key.clone(),
        creds.session_token.clone(),
        None,
        "gg",
    )
    .into();
    let mut settings = SigningSettings::default();
    let name = match service {
        Service::Lambda => "lambda",
        Service::S3 => {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            "s3"
        }
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(name)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))).collect();
    let body = body.map_or(SignableBody::UnsignedPayload, SignableBody::Bytes);
    let signable = SignableRequest::new(req.method().as_str(), &uri, headers.into_iter(), body)
        .map_err(|e| format!("cannot sign the request to `{uri}`: {e}"))?;
    let (instructions, _) =
        sigv4(signable, &params).map_err(|e| format!("cannot sign the request to `{uri}`: {e}"))?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}
