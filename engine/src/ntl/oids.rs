//! Object identifiers with the short and long names OpenSSL 3.0 gives them
//! (`OBJ_nid2sn` / `OBJ_nid2ln`). Only the ones that appear in ordinary
//! server certificates are listed; anything else is printed in dotted form,
//! which is also what OpenSSL does for identifiers it does not know.

/// `(dotted, short name, long name)`.
const TABLE: &[(&str, &str, &str)] = &[
    // Name attributes.
    ("2.5.4.3", "CN", "commonName"),
    ("2.5.4.4", "SN", "surname"),
    ("2.5.4.5", "serialNumber", "serialNumber"),
    ("2.5.4.6", "C", "countryName"),
    ("2.5.4.7", "L", "localityName"),
    ("2.5.4.8", "ST", "stateOrProvinceName"),
    ("2.5.4.9", "street", "streetAddress"),
    ("2.5.4.10", "O", "organizationName"),
    ("2.5.4.11", "OU", "organizationalUnitName"),
    ("2.5.4.12", "title", "title"),
    ("2.5.4.13", "description", "description"),
    ("2.5.4.15", "businessCategory", "businessCategory"),
    ("2.5.4.17", "postalCode", "postalCode"),
    ("2.5.4.41", "name", "name"),
    ("2.5.4.42", "GN", "givenName"),
    ("2.5.4.43", "initials", "initials"),
    ("2.5.4.44", "generationQualifier", "generationQualifier"),
    ("2.5.4.46", "dnQualifier", "dnQualifier"),
    ("2.5.4.65", "pseudonym", "pseudonym"),
    (
        "2.5.4.97",
        "organizationIdentifier",
        "organizationIdentifier",
    ),
    ("1.2.840.113549.1.9.1", "emailAddress", "emailAddress"),
    (
        "1.2.840.113549.1.9.2",
        "unstructuredName",
        "unstructuredName",
    ),
    ("0.9.2342.19200300.100.1.1", "UID", "userId"),
    ("0.9.2342.19200300.100.1.25", "DC", "domainComponent"),
    (
        "1.3.6.1.4.1.311.60.2.1.1",
        "jurisdictionL",
        "jurisdictionLocalityName",
    ),
    (
        "1.3.6.1.4.1.311.60.2.1.2",
        "jurisdictionST",
        "jurisdictionStateOrProvinceName",
    ),
    (
        "1.3.6.1.4.1.311.60.2.1.3",
        "jurisdictionC",
        "jurisdictionCountryName",
    ),
    // Public key and signature algorithms.
    ("1.2.840.113549.1.1.1", "rsaEncryption", "rsaEncryption"),
    ("1.2.840.113549.1.1.4", "RSA-MD5", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "RSA-SHA1", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS", "rsassaPss"),
    (
        "1.2.840.113549.1.1.11",
        "RSA-SHA256",
        "sha256WithRSAEncryption",
    ),
    (
        "1.2.840.113549.1.1.12",
        "RSA-SHA384",
        "sha384WithRSAEncryption",
    ),
    (
        "1.2.840.113549.1.1.13",
        "RSA-SHA512",
        "sha512WithRSAEncryption",
    ),
    (
        "1.2.840.113549.1.1.14",
        "RSA-SHA224",
        "sha224WithRSAEncryption",
    ),
    ("1.2.840.10040.4.1", "DSA", "dsaEncryption"),
    ("1.2.840.10045.2.1", "id-ecPublicKey", "id-ecPublicKey"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1", "ecdsa-with-SHA1"),
    (
        "1.2.840.10045.4.3.1",
        "ecdsa-with-SHA224",
        "ecdsa-with-SHA224",
    ),
    (
        "1.2.840.10045.4.3.2",
        "ecdsa-with-SHA256",
        "ecdsa-with-SHA256",
    ),
    (
        "1.2.840.10045.4.3.3",
        "ecdsa-with-SHA384",
        "ecdsa-with-SHA384",
    ),
    (
        "1.2.840.10045.4.3.4",
        "ecdsa-with-SHA512",
        "ecdsa-with-SHA512",
    ),
    ("1.3.101.112", "ED25519", "ED25519"),
    ("1.3.101.113", "ED448", "ED448"),
    // Named curves.
    ("1.2.840.10045.3.1.7", "prime256v1", "prime256v1"),
    ("1.3.132.0.33", "secp224r1", "secp224r1"),
    ("1.3.132.0.34", "secp384r1", "secp384r1"),
    ("1.3.132.0.35", "secp521r1", "secp521r1"),
    ("1.3.132.0.10", "secp256k1", "secp256k1"),
    // Certificate extensions.
    (
        "2.5.29.14",
        "subjectKeyIdentifier",
        "X509v3 Subject Key Identifier",
    ),
    ("2.5.29.15", "keyUsage", "X509v3 Key Usage"),
    (
        "2.5.29.17",
        "subjectAltName",
        "X509v3 Subject Alternative Name",
    ),
    (
        "2.5.29.18",
        "issuerAltName",
        "X509v3 Issuer Alternative Name",
    ),
    ("2.5.29.19", "basicConstraints", "X509v3 Basic Constraints"),
    ("2.5.29.30", "nameConstraints", "X509v3 Name Constraints"),
    (
        "2.5.29.31",
        "crlDistributionPoints",
        "X509v3 CRL Distribution Points",
    ),
    (
        "2.5.29.32",
        "certificatePolicies",
        "X509v3 Certificate Policies",
    ),
    ("2.5.29.32.0", "anyPolicy", "X509v3 Any Policy"),
    (
        "2.5.29.35",
        "authorityKeyIdentifier",
        "X509v3 Authority Key Identifier",
    ),
    (
        "2.5.29.36",
        "policyConstraints",
        "X509v3 Policy Constraints",
    ),
    ("2.5.29.37", "extendedKeyUsage", "X509v3 Extended Key Usage"),
    ("2.5.29.54", "inhibitAnyPolicy", "X509v3 Inhibit Any Policy"),
    (
        "1.3.6.1.5.5.7.1.1",
        "authorityInfoAccess",
        "Authority Information Access",
    ),
    ("1.3.6.1.5.5.7.1.24", "tlsfeature", "TLS Feature"),
    (
        "1.3.6.1.4.1.11129.2.4.2",
        "ct_precert_scts",
        "CT Precertificate SCTs",
    ),
    (
        "1.3.6.1.4.1.11129.2.4.3",
        "ct_precert_poison",
        "CT Precertificate Poison",
    ),
    ("2.16.840.1.113730.1.1", "nsCertType", "Netscape Cert Type"),
    ("2.16.840.1.113730.1.13", "nsComment", "Netscape Comment"),
    // Extended key usages.
    (
        "1.3.6.1.5.5.7.3.1",
        "serverAuth",
        "TLS Web Server Authentication",
    ),
    (
        "1.3.6.1.5.5.7.3.2",
        "clientAuth",
        "TLS Web Client Authentication",
    ),
    ("1.3.6.1.5.5.7.3.3", "codeSigning", "Code Signing"),
    ("1.3.6.1.5.5.7.3.4", "emailProtection", "E-mail Protection"),
    ("1.3.6.1.5.5.7.3.5", "ipsecEndSystem", "IPSec End System"),
    ("1.3.6.1.5.5.7.3.6", "ipsecTunnel", "IPSec Tunnel"),
    ("1.3.6.1.5.5.7.3.7", "ipsecUser", "IPSec User"),
    ("1.3.6.1.5.5.7.3.8", "timeStamping", "Time Stamping"),
    ("1.3.6.1.5.5.7.3.9", "OCSPSigning", "OCSP Signing"),
    (
        "2.5.29.37.0",
        "anyExtendedKeyUsage",
        "Any Extended Key Usage",
    ),
    (
        "1.3.6.1.4.1.311.20.2.2",
        "msSmartcardLogin",
        "Microsoft Smartcard Login",
    ),
    // Access methods and policy qualifiers.
    ("1.3.6.1.5.5.7.48.1", "OCSP", "OCSP"),
    ("1.3.6.1.5.5.7.48.2", "caIssuers", "CA Issuers"),
    ("1.3.6.1.5.5.7.2.1", "id-qt-cps", "Policy Qualifier CPS"),
    (
        "1.3.6.1.5.5.7.2.2",
        "id-qt-unotice",
        "Policy Qualifier User Notice",
    ),
];

fn lookup(dotted: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    TABLE.iter().find(|(d, _, _)| *d == dotted)
}

/// OpenSSL's short name, when known.
pub(crate) fn short_name(dotted: &str) -> Option<&'static str> {
    lookup(dotted).map(|e| e.1)
}

/// What `i2a_ASN1_OBJECT` prints: the long name, or the dotted form.
pub(crate) fn long_name_or_dotted(dotted: &str) -> String {
    lookup(dotted).map_or_else(|| dotted.to_owned(), |e| e.2.to_owned())
}

/// The NIST name of a curve (`EC_curve_nid2nist`).
pub(crate) fn nist_curve(dotted: &str) -> Option<&'static str> {
    match dotted {
        "1.3.132.0.33" => Some("P-224"),
        "1.2.840.10045.3.1.7" => Some("P-256"),
        "1.3.132.0.34" => Some("P-384"),
        "1.3.132.0.35" => Some("P-521"),
        _ => None,
    }
}

/// Bits of the group order of a named curve (what OpenSSL prints as the key size).
pub(crate) fn curve_order_bits(dotted: &str) -> Option<usize> {
    match dotted {
        "1.3.132.0.33" => Some(224),
        "1.2.840.10045.3.1.7" | "1.3.132.0.10" => Some(256),
        "1.3.132.0.34" => Some(384),
        "1.3.132.0.35" => Some(521),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) fn all() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    TABLE.iter().copied()
}
