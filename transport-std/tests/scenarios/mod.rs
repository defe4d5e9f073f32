//! The scenario suite shared by every transport: each scenario takes a [`Transport`] and
//! runs the same requests against the same servers, so a behaviour is checked on
//! `tidings-std` and `tidings-mio` alike. A test binary includes this module (and
//! `common`) and expands [`scenario_tests!`] with its transport.
#![allow(dead_code)]

pub mod closing;
pub mod codings;
pub mod errors;
pub mod httpbin;
pub mod interop;
pub mod loopback;
pub mod profiles;
pub mod proxy;
pub mod reuse;
pub mod security;
pub mod socks;
pub mod tls;

use crate::api::{Error, PreparedRequest, RequestBuilder, Response, Session};

/// The client layer's session, which configures every transport (a `crate::api::Session`
/// derefs to it).
pub type Config = crate::api::client::Session;

/// How a test sends a request.
pub trait Transport {
    /// Sends a built request through its session's configuration and returns the
    /// response (its body may still be on the wire, or already read whole).
    fn send(&self, request: RequestBuilder) -> Result<Response, Error>;

    /// Sends a prepared request with `session`'s configuration.
    fn send_prepared(&self, session: &Config, request: PreparedRequest) -> Result<Response, Error>;

    /// Sends every request at once (all in flight together) and returns their results in
    /// the order given.
    fn send_all(&self, requests: Vec<RequestBuilder>) -> Vec<Result<Response, Error>>;

    /// Idle pooled connections of `session` (of the transport's client for it).
    fn idle_connections(&self, session: &Config) -> usize;

    /// A GET the way the module-level `tidings_std::get` sends it (no cookie jar).
    fn get(&self, url: &str) -> Result<Response, Error> {
        let session = Session::builder().cookie_store(false).build()?;
        self.send(session.get(url))
    }

    /// Whether a response's body stays on the connection until it is read (else the
    /// transport read it whole before handing the response over).
    fn streams_bodies(&self) -> bool;
}

/// `builder.send_with(transport)`: reads as `builder.send()` does.
pub trait SendWith {
    /// Sends through `transport`.
    fn send_with(self, transport: &dyn Transport) -> Result<Response, Error>;
}

impl SendWith for RequestBuilder {
    fn send_with(self, transport: &dyn Transport) -> Result<Response, Error> {
        transport.send(self)
    }
}

/// One `#[test]` per scenario, run with `$transport` (an expression of a type that
/// implements [`Transport`]).
#[macro_export]
macro_rules! scenario_tests {
    ($transport:expr) => {
        $crate::scenario_tests!(@each $transport;
            httpbin::get_echoes_args_and_headers,
            httpbin::every_method_and_body_kind,
            httpbin::statuses_and_auth,
            httpbin::codings_streams_and_bytes,
            httpbin::timeouts_against_slow_endpoints,
            httpbin::one_session_reuses_its_connection,
            httpbin::multipart_forms_stream_files,
            httpbin::redirects_are_followed_with_the_core_rules,
            httpbin::credentials_never_follow_a_redirect_to_another_origin,
            httpbin::digest_auth_answers_one_challenge_for_every_algorithm,
            httpbin::cookies_follow_hops_and_persist_per_session,
            closing::redirect_and_retry_hops_on_closed_connections,
            codings::transfer_codings_are_undone_in_order_or_refused,
            codings::a_truncated_content_coding_is_a_decode_error,
            codings::what_is_not_http_fails_at_once,
            codings::redirects_never_leave_http_and_https,
            errors::every_error_kind_reads_as_a_user_sees_it,
            loopback::get_text_and_keep_alive_reuse,
            loopback::connection_close_is_not_reused,
            loopback::a_stale_pooled_connection_is_replaced_transparently,
            loopback::query_form_json_and_auth_reach_the_server,
            loopback::streamed_uploads_are_chunked_and_100_continue_is_honoured,
            loopback::gzip_bodies_are_decoded_and_bombs_capped,
            loopback::hostile_servers_give_typed_errors,
            loopback::stalls_and_refusals_time_out_or_fail_fast,
            loopback::a_caller_that_pauses_between_reads_is_not_timed_out,
            loopback::status_errors_prepared_requests_and_head,
            loopback::an_early_response_stops_a_large_upload,
            loopback::retries_follow_urllib3_semantics,
            loopback::digest_challenges_are_remembered_per_session,
            loopback::credentials_are_never_answered_or_sent_to_another_origin,
            loopback::netrc_supplies_credentials_per_host_when_none_are_given,
            loopback::cookies_stay_with_their_host_across_redirects,
            loopback::pooled_connections_expire_after_the_idle_timeout,
            loopback::durations_beyond_the_clock_mean_no_limit,
            loopback::close_delimited_bodies_end_at_the_close_every_time,
            loopback::raw_query_strings_and_per_request_timeouts,
            loopback::requests_and_responses_convert_to_and_from_the_http_crate,
            loopback::the_response_knows_the_request_as_it_went_on_the_wire,
            tls::https_with_a_custom_ca_verifies_and_reuses,
            tls::verification_is_on_by_default_and_checks_the_name,
            tls::dangerous_mode_is_explicit,
            tls::client_certificates_are_presented,
            tls::a_missing_ca_file_is_a_tls_error_at_build_time,
            tls::a_body_delimited_by_the_close_needs_the_servers_close_notify,
            tls::the_client_ends_tls_with_close_notify,
            proxy::plain_http_goes_to_the_proxy_in_absolute_form_with_its_credentials,
            proxy::https_tunnels_with_credentials_on_the_connect_only,
            proxy::a_refused_tunnel_is_a_connect_error,
            proxy::no_proxy_per_scheme_settings_and_invalid_proxies,
            proxy::an_https_proxy_forwards_and_tunnels_inside_its_tls,
            socks::socks5h_carries_http_and_https_with_credentials,
            socks::every_socks_dialect_reaches_the_origin,
            socks::a_socks_proxy_that_fails_says_how,
            profiles::mounted_profiles_apply_per_prefix,
            reuse::an_unsolicited_second_response_is_never_read_as_the_next,
            reuse::a_body_after_a_response_to_head_closes_the_connection,
            reuse::a_body_after_a_204_closes_the_connection,
            reuse::bytes_written_to_an_idle_connection_discard_it,
            security::cve_2018_20060_authorization_stays_with_its_origin,
            security::cve_2018_18074_no_credentials_on_a_downgrade_to_http,
            security::cve_2023_43804_cookie_headers_stay_with_their_origin,
            security::cve_2023_45803_a_303_drops_the_body,
            security::cve_2026_21441_redirect_bodies_are_never_decoded
        );
        $crate::scenario_tests!(@interop $transport;
            interop::gunicorn_httpbin,
            interop::nginx_keep_alive_and_a_large_file,
            interop::nginx_https_with_a_local_ca,
            interop::tinyproxy_forwards_and_tunnels,
            interop::microsocks_carries_http_and_https,
            interop::stunnel_and_tinyproxy_as_an_https_proxy
        );
    };
    (@each $transport:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$module::$name(&$transport);
            }
        )*
    };
    // Against the real servers `.ci/interop.sh` starts; plain `cargo test` skips them.
    (@interop $transport:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "needs the servers of .ci/interop.sh"]
            fn $name() {
                $crate::scenarios::$module::$name(&$transport);
            }
        )*
    };
}
