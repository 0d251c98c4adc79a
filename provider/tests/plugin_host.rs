//! The provider binary driven exactly as Terraform drives it: handshake,
//! mutual TLS, the go-plugin services, and the tfplugin6 sequence
//! schema → validate → configure → read data source → shutdown.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use anyhow::Result;
use rmpv::Value as Mp;
use support::{COOKIE, Plugin, fake_glue};
use terraform_provider_gluepipe::protocol::pb::plugin as go_plugin;
use terraform_provider_gluepipe::protocol::pb::tfplugin6 as pb;
use terraform_provider_gluepipe::protocol::tls;
use terraform_provider_gluepipe::protocol::value::msgpack;
use terraform_provider_gluepipe::protocol::{Type, Value};
use tonic::Code;

/// msgpack as cty writes it: a map of every attribute.
fn mp_object(attrs: &[(&str, Mp)]) -> Vec<u8> {
    let map = attrs
        .iter()
        .map(|(k, v)| (Mp::from(*k), v.clone()))
        .collect();
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &Mp::Map(map)).unwrap();
    out
}

fn dv(msgpack: Vec<u8>) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

fn provider_config(region: &str) -> Vec<u8> {
    mp_object(&[
        ("default_tags", Mp::Nil),
        ("endpoint_url", Mp::Nil),
        ("max_retries", Mp::Nil),
        ("profile", Mp::Nil),
        ("region", Mp::from(region)),
    ])
}

fn table_config(database: &str, name: &str) -> Vec<u8> {
    mp_object(&[
        ("columns", Mp::Nil),
        ("database", Mp::from(database)),
        ("input_format", Mp::Nil),
        ("location", Mp::Nil),
        ("name", Mp::from(name)),
        ("parameters", Mp::Nil),
        ("partition_keys", Mp::Nil),
        ("serde_library", Mp::Nil),
    ])
}

fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_sequence_end_to_end() -> Result<()> {
    let glue = fake_glue().await?;
    let env = aws_env(&glue);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut plugin = Plugin::start(&env)?;
    let channel = plugin.connect().await?;

    // Like go-plugin's client: open the broker and stdio streams, check health.
    let mut broker = go_plugin::grpc_broker_client::GrpcBrokerClient::new(channel.clone());
    let _broker_stream = broker.start_stream(tokio_stream::pending()).await?;
    let mut stdio = go_plugin::grpc_stdio_client::GrpcStdioClient::new(channel.clone());
    let _stdio_stream = stdio.stream_stdio(()).await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let mut client = pb::provider_client::ProviderClient::new(channel.clone());

    // Schema: the provider block and the data source, Markdown descriptions.
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await?
        .into_inner();
    let provider_block = schema.provider.unwrap().block.unwrap();
    let names: Vec<_> = provider_block
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "region",
            "profile",
            "endpoint_url",
            "default_tags",
            "max_retries"
        ]
    );
    assert!(
        provider_block
            .attributes
            .iter()
            .all(|a| !a.description.is_empty())
    );
    let table = &schema.data_source_schemas["gluepipe_catalog_table"];
    let block = table.block.as_ref().unwrap();
    let columns = block
        .attributes
        .iter()
        .find(|a| a.name == "columns")
        .unwrap();
    assert_eq!(
        columns.r#type,
        br#"["list",["object",{"comment":"string","name":"string","type":"string"}]]"#
    );
    assert!(
        schema.provider_meta.is_some(),
        "provider_meta must be an empty block, not absent"
    );
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    // Newer RPCs: metadata and functions are empty successes.
    let meta = client
        .get_metadata(pb::get_metadata::Request {})
        .await?
        .into_inner();
    assert_eq!(meta.data_sources[0].type_name, "gluepipe_catalog_table");
    let functions = client
        .get_functions(pb::get_functions::Request {})
        .await?
        .into_inner();
    assert!(functions.diagnostics.is_empty());

    // Validate: a bad region is an error at `region`; a good block passes.
    let bad = client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: dv(provider_config("moon-1")),
        })
        .await?
        .into_inner();
    assert_eq!(errors(&bad.diagnostics).len(), 1);
    let step = &bad.diagnostics[0].attribute.as_ref().unwrap().steps[0];
    assert_eq!(
        step.selector,
        Some(pb::attribute_path::step::Selector::AttributeName(
            "region".into()
        ))
    );
    let good = client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: dv(provider_config("us-east-1")),
        })
        .await?
        .into_inner();
    assert!(good.diagnostics.is_empty(), "{:?}", good.diagnostics);

    // Configure, then validate and read the data source.
    let configured = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.0.3".into(),
            config: dv(provider_config("us-east-1")),
        })
        .await?
        .into_inner();
    assert!(
        configured.diagnostics.is_empty(),
        "{:?}",
        configured.diagnostics
    );
    let validated = client
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: "gluepipe_catalog_table".into(),
            config: dv(table_config("raw", "orders")),
        })
        .await?
        .into_inner();
    assert!(validated.diagnostics.is_empty());
    let read = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "gluepipe_catalog_table".into(),
            config: dv(table_config("raw", "orders")),
            provider_meta: None,
        })
        .await?
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let ty = Type::from_json_bytes(&schema_type(block))?;
    let state = msgpack::decode(&read.state.unwrap().msgpack, &ty)?;
    assert_eq!(
        state.attr("location").as_str(),
        Some("s3://landing/orders/")
    );
    let cols = state.attr("columns").elements();
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[1].attr("type").as_str(), Some("decimal(10,2)"));
    assert_eq!(cols[1].attr("comment").as_str(), Some(""));
    assert_eq!(
        state.attr("partition_keys").elements()[0]
            .attr("name")
            .as_str(),
        Some("dt")
    );
    assert_eq!(
        state.attr("parameters").attr("classification"),
        &Value::from("json")
    );

    // A missing table: an error naming database and table.
    let missing = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "gluepipe_catalog_table".into(),
            config: dv(table_config("raw", "nope")),
            provider_meta: None,
        })
        .await?
        .into_inner();
    let errs = errors(&missing.diagnostics);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains(r#"no table "nope" in Glue database "raw""#),
        "{}",
        errs[0]
    );

    // RPCs newer than 6.5 are Unimplemented.
    let mut raw = tonic::client::Grpc::new(channel.clone());
    raw.ready().await?;
    let unimplemented = raw
        .unary::<_, pb::get_functions::Response, _>(
            tonic::Request::new(pb::get_functions::Request {}),
            http::uri::PathAndQuery::from_static(
                "/tfplugin6.Provider/ValidateEphemeralResourceConfig",
            ),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unimplemented.code(), Code::Unimplemented);

    // Stop, then Shutdown: the process exits promptly and cleanly.
    let stopped = client
        .stop_provider(pb::stop_provider::Request {})
        .await?
        .into_inner();
    assert_eq!(stopped.error, "");
    let mut controller = go_plugin::grpc_controller_client::GrpcControllerClient::new(channel);
    controller.shutdown(go_plugin::Empty {}).await?;
    let (took, status) = plugin.wait_exit(Duration::from_secs(2))?;
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_millis(500), "exit took {took:?}");

    // Exactly one stdout line; logs went to stderr as hclog JSON.
    assert_eq!(plugin.rest_of_stdout()?, "");
    let stderr = plugin.stderr_text()?;
    let first = stderr.lines().next().unwrap_or_default();
    let entry: serde_json::Value = serde_json::from_str(first)?;
    assert_eq!(entry["@level"], "debug");
    assert!(entry["@timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(!plugin.socket.exists(), "socket left behind");
    Ok(())
}

/// The implied object type of a schema block, as the provider declared it.
fn schema_type(block: &pb::schema::Block) -> Vec<u8> {
    let attrs: serde_json::Map<String, serde_json::Value> = block
        .attributes
        .iter()
        .map(|a| (a.name.clone(), serde_json::from_slice(&a.r#type).unwrap()))
        .collect();
    serde_json::json!(["object", attrs])
        .to_string()
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn another_certificate_is_refused() -> Result<()> {
    let mut plugin = Plugin::start(&[])?;
    let stranger = tls::generate_identity()?;
    let refused = async {
        let channel = plugin.connect_as(stranger).await?;
        let mut client = pb::provider_client::ProviderClient::new(channel);
        client
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(
        refused.is_err(),
        "a client with another certificate got an answer"
    );

    let stderr = shut_down(&mut plugin).await?;
    assert!(
        stderr.contains("refused a connection: TLS handshake failed"),
        "{stderr}"
    );
    Ok(())
}

/// The rightful client (still) gets in, asks for the schema, and shuts the
/// provider down; returns the provider's stderr.
async fn shut_down(plugin: &mut Plugin) -> Result<String> {
    let channel = plugin.connect().await?;
    let mut client = pb::provider_client::ProviderClient::new(channel.clone());
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await?;
    let mut controller = go_plugin::grpc_controller_client::GrpcControllerClient::new(channel);
    controller.shutdown(go_plugin::Empty {}).await?;
    plugin.wait_exit(Duration::from_secs(2))?;
    plugin.stderr_text()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_without_certificate_is_refused() -> Result<()> {
    let mut plugin = Plugin::start(&[])?;
    let config = rustls::ClientConfig::builder_with_provider(tls::crypto())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(tls::PinnedCert::new(
            plugin.server_cert.clone().into(),
            tls::crypto(),
        )))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let stream = tokio::net::UnixStream::connect(&plugin.socket).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost")?;
    let result = async {
        let mut tls = connector.connect(name, stream).await?;
        // TLS 1.3 reports the server's rejection on the first read.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
        let mut buf = [0u8; 16];
        let n = tls.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "closed");
        anyhow::Ok(())
    }
    .await;
    assert!(
        result.is_err(),
        "a client without a certificate got an answer"
    );
    let stderr = shut_down(&mut plugin).await?;
    assert!(
        stderr.contains("refused a connection: TLS handshake failed: peer sent no certificates"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn run_by_hand_prints_a_friendly_message() -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-gluepipe"))
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr)?;
    assert!(stderr.contains("not a command to run by hand"), "{stderr}");
    assert!(stderr.contains("--debug"), "{stderr}");
    Ok(())
}

#[test]
fn a_host_without_protocol_6_is_told_why() -> Result<()> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-gluepipe"))
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    // go-plugin hosts show a non-handshake stdout line to the user.
    let stdout = String::from_utf8(out.stdout)?;
    assert!(stdout.contains("speaks plugin protocol 6"), "{stdout}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_mode_prints_a_reattach_line_and_serves_plaintext() -> Result<()> {
    use std::io::BufRead;
    let dir = tempfile::tempdir()?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-gluepipe"))
        .arg("--debug")
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut reattach = None;
    for _ in 0..10 {
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if let Some(value) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS=") {
            reattach = Some(value.trim_matches('\'').to_owned());
            break;
        }
    }
    let json: serde_json::Value = serde_json::from_str(&reattach.expect("reattach line"))?;
    let entry = &json["registry.terraform.io/gluepipe/gluepipe"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], child.id());
    let socket = std::path::PathBuf::from(entry["Addr"]["String"].as_str().unwrap());
    let channel = tonic::transport::Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await?;
    let mut client = pb::provider_client::ProviderClient::new(channel);
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await?
        .into_inner();
    assert!(
        schema
            .data_source_schemas
            .contains_key("gluepipe_catalog_table")
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}

#[test]
fn values_from_our_codec_match_what_cty_writes() -> Result<()> {
    // The hand-written config above and our encoder agree byte for byte.
    let ty = Type::object([
        ("default_tags", Type::map(Type::String)),
        ("endpoint_url", Type::String),
        ("max_retries", Type::Number),
        ("profile", Type::String),
        ("region", Type::String),
    ]);
    let mut value = Value::null_object(&ty);
    value.set_attr("region", Value::from("us-east-1"));
    assert_eq!(msgpack::encode(&value, &ty)?, provider_config("us-east-1"));
    Ok(())
}
