//! The HTTP client settings of a cache (the shared cache's back ends, on
//! S3 or plain HTTP): a request that cannot connect, or stalls, for
//! `timeout` fails, and the remote is then left alone a while; a whole
//! transfer may take thirty times that, for large blobs.

use std::time::Duration;

pub fn cache_agent(timeout: Duration) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .timeout_per_write(Some(timeout))
        .timeout_global(Some(timeout * 30))
        .max_idle_connections_per_host(16)
}
