//! go-plugin's auto-mTLS, done strictly: the provider makes a one-off
//! self-signed certificate for its handshake line, and accepts exactly one
//! client — the holder of the certificate Terraform put in
//! `PLUGIN_CLIENT_CERT`. That certificate is pinned byte for byte and the
//! peer must still prove it holds its key (the handshake signature).
//!
//! Why a custom verifier: go-plugin's certificates are CA certificates used
//! as leaves, which webpki's standard verifiers reject (`CaUsedAsEndEntity`).
//! Why aws-lc-rs: Terraform's key is ECDSA P-521, which ring cannot verify;
//! a Go client whose signature scheme the server does not offer sends no
//! certificate at all.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// A certificate and its private key.
pub struct Identity {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating the provider's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate: {0}")]
    ClientCert(String),
    #[error("setting up TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider for every TLS use here.
pub fn crypto() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A self-signed certificate shaped like go-plugin's: ECDSA P-521,
/// CA:true, for `localhost` (the name Go's client verifies), usable for
/// client and server auth.
pub fn generate_identity() -> Result<Identity, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "gluepipe");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    // rcgen's default validity (1975 to 4096) outlives any plugin process.
    let cert = params.self_signed(&key)?;
    Ok(Identity {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// Reads the first certificate of a PEM document (`PLUGIN_CLIENT_CERT`).
pub fn parse_pem_cert(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::ClientCert(e.to_string()))
}

/// The server side: our identity, and only `client` may connect. Offers
/// HTTP/2 by ALPN (newer gRPC-Go clients require it).
pub fn server_config(
    identity: Identity,
    client: CertificateDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let crypto = crypto();
    let verifier = Arc::new(PinnedCert::new(client, crypto.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert], identity.key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one certificate (compared as DER bytes) and checks the
/// peer's handshake signature with that certificate's key. Serves as the
/// server's client verifier and as a client's server verifier (tests, and
/// any Rust host).
#[derive(Debug)]
pub struct PinnedCert {
    cert: CertificateDer<'static>,
    crypto: Arc<CryptoProvider>,
}

impl PinnedCert {
    pub fn new(cert: CertificateDer<'static>, crypto: Arc<CryptoProvider>) -> Self {
        Self { cert, crypto }
    }

    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.cert.as_ref() {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check(cert)?;
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check(cert)?;
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }
}

impl ClientCertVerifier for PinnedCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: a Go client only sends a certificate whose issuer is in
        // the hint list, when there is one.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client config that presents `identity` and trusts only `server`
/// (what Terraform does; used by tests and tools).
pub fn client_config(
    identity: Identity,
    server: CertificateDer<'static>,
) -> Result<rustls::ClientConfig, TlsError> {
    let crypto = crypto();
    let mut config = rustls::ClientConfig::builder_with_provider(crypto.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCert::new(server, crypto)))
        .with_client_auth_cert(vec![identity.cert], identity.key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// PEM text of a certificate (what a host puts in `PLUGIN_CLIENT_CERT`).
pub fn to_pem(cert: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn identity_is_a_p521_ca_for_localhost() {
        let id = generate_identity().unwrap();
        let der = id.cert.as_ref();
        // OIDs in DER: secp521r1 (1.3.132.0.35), basicConstraints CA:true, SAN "localhost".
        let contains = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
        assert!(
            contains(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
            "secp521r1"
        );
        assert!(contains(&[0x30, 0x03, 0x01, 0x01, 0xff]), "CA:true");
        assert!(contains(b"localhost"));
        assert_eq!(parse_pem_cert(&to_pem(&id.cert)).unwrap(), id.cert);
    }

    #[test]
    fn pinning_compares_bytes() {
        let a = generate_identity().unwrap();
        let b = generate_identity().unwrap();
        let pinned = PinnedCert::new(a.cert.clone(), crypto());
        let now = UnixTime::now();
        assert!(pinned.verify_client_cert(&a.cert, &[], now).is_ok());
        assert!(pinned.verify_client_cert(&b.cert, &[], now).is_err());
        assert!(
            ClientCertVerifier::supported_verify_schemes(&pinned)
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
        assert!(pinned.client_auth_mandatory());
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(parse_pem_cert("").is_err());
        assert!(
            parse_pem_cert("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").is_err()
        );
    }
}
