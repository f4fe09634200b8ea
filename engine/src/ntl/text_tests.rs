//! `openssl_text` against the real `openssl x509 -text -noout`.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::ntl::{generate_qa_certificate, HsmAddress, QaSubject};

fn run_openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("openssl prints UTF-8")
}

/// What `openssl x509 -text -noout` prints for this PEM.
fn openssl_x509_text(pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), pem).unwrap();
    run_openssl(&["x509", "-in", "c.pem", "-text", "-noout"], dir.path())
}

/// Compares line by line and prints a diff on failure.
fn assert_same_as_openssl(what: &str, pem: &str) {
    let expected = openssl_x509_text(pem);
    let actual = openssl_text(pem).unwrap();
    if expected == actual {
        return;
    }
    let e: Vec<&str> = expected.split('\n').collect();
    let a: Vec<&str> = actual.split('\n').collect();
    let mut diff = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            diff.push_str(&format!(
                "line {}:\n  openssl: {:?}\n  ours:    {:?}\n",
                i + 1,
                x,
                y
            ));
        }
    }
    panic!("{what}: openssl_text differs from openssl x509 -text -noout\n{diff}\n--- openssl:\n{expected}\n--- ours:\n{actual}");
}

/// `openssl req -x509` in a temp dir with these extra arguments.
fn req_x509(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![
        "req", "-x509", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
    ];
    all.extend_from_slice(args);
    run_openssl(&all, dir.path());
    std::fs::read_to_string(dir.path().join("c.pem")).unwrap()
}

#[test]
fn qa_certificate_with_full_subject_and_ip_matches_openssl() {
    let subject = QaSubject {
        country: Some("ca".into()),
        state: Some("Ontario".into()),
        locality: Some("Ottawa".into()),
        organization: Some("Gemalto".into()),
    };
    let address = HsmAddress::parse("192.168.1.21").unwrap();
    let qa = generate_qa_certificate(&subject, &address, time::OffsetDateTime::now_utc()).unwrap();
    assert_same_as_openssl("QA cert, full subject, IP", &qa.cert_pem);
    let text = openssl_text(&qa.cert_pem).unwrap();
    assert!(text.contains(
        "        Issuer: C = CA, ST = Ontario, L = Ottawa, O = Gemalto, CN = 192.168.1.21\n"
    ));
    assert!(text.contains("                IP Address:192.168.1.21\n"));
    assert!(text.contains("                TLS Web Client Authentication\n"));
    assert!(
        text.contains("            X509v3 Basic Constraints: critical\n                CA:FALSE\n")
    );
    assert!(text.contains("                Public-Key: (2048 bit)\n"));
    assert!(text.contains("                Exponent: 65537 (0x10001)\n"));
    assert!(text.contains("    Signature Algorithm: sha256WithRSAEncryption\n"));
    assert!(text.contains("        Version: 3 (0x2)\n"));
}

#[test]
fn qa_certificate_with_cn_only_and_dns_name_matches_openssl() {
    let address = HsmAddress::parse("qa-1.example.com").unwrap();
    let qa = generate_qa_certificate(
        &QaSubject::default(),
        &address,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_same_as_openssl("QA cert, CN only, DNS", &qa.cert_pem);
    let text = openssl_text(&qa.cert_pem).unwrap();
    assert!(text.contains("        Subject: CN = qa-1.example.com\n"));
    assert!(text.contains("                DNS:qa-1.example.com\n"));
}

#[test]
fn openssl_req_x509_rsa_matches() {
    let pem = req_x509(&[
        "-newkey",
        "rsa:2048",
        "-subj",
        "/C=CA/ST=Ontario/L=Ottawa/O=Gemalto/CN=192.168.1.31",
        "-days",
        "30",
    ]);
    assert_same_as_openssl("openssl req -x509 rsa:2048", &pem);
}

#[test]
fn ec_and_ed25519_keys_match() {
    for (what, args) in [
        (
            "P-256",
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            "P-384",
            vec![
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-sha384",
            ],
        ),
        (
            "P-521",
            vec![
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-521",
                "-sha512",
            ],
        ),
        ("Ed25519", vec!["-newkey", "ed25519"]),
        ("RSA-1024 sha1", vec!["-newkey", "rsa:1024", "-sha1"]),
        (
            "RSA-3072 e=3",
            vec!["-newkey", "rsa:3072", "-pkeyopt", "rsa_keygen_pubexp:3"],
        ),
    ] {
        let mut args = args;
        args.extend_from_slice(&["-subj", "/CN=hsm.example", "-days", "30"]);
        let pem = req_x509(&args);
        assert_same_as_openssl(what, &pem);
    }
}

#[test]
fn serial_numbers_and_dates_match() {
    for serial in [
        "0",
        "1",
        "4660",
        "0x7fffffffffffffff",
        "0x8000000000000000",
        "0xffffffffffffffffff",
        "-5",
    ] {
        let pem = req_x509(&[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-subj",
            "/CN=x",
            "-set_serial",
            serial,
            "-days",
            "3",
        ]);
        assert_same_as_openssl(serial, &pem);
    }
    // Beyond 2049: GeneralizedTime.
    let pem = req_x509(&[
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-subj",
        "/CN=x",
        "-days",
        "15000",
    ]);
    assert_same_as_openssl("GeneralizedTime", &pem);
}

#[test]
fn names_with_escapes_match() {
    let pem = req_x509(&[
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-utf8",
        "-multivalue-rdn",
        "-subj",
        "/C=DE/ST=Bäyern/L=a\\,b/O=x\\+y/OU=q\"uote/OU=back\\\\slash/CN= lead/CN=#hash/CN=trail /CN=#/CN= \
         /emailAddress=a@b.c/CN=a<b>;=c/CN=multi+OU=val/CN=日本/SN=sur/serialNumber=42/street=Main \
         St/title=t/description=d/businessCategory=b/postalCode=1000/name=n/GN=g/initials=i\
         /generationQualifier=III/dnQualifier=q/pseudonym=p/organizationIdentifier=VATCH-1\
         /unstructuredName=u/UID=uid/DC=example/jurisdictionL=l/jurisdictionST=st/jurisdictionC=CH",
        "-days",
        "3",
    ]);
    assert_same_as_openssl("escaped names", &pem);
}

#[test]
fn many_extensions_match() {
    let dir = tempfile::tempdir().unwrap();
    let conf = "\
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = ext.example
[ext]
basicConstraints = critical, CA:TRUE, pathlen:2
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign, cRLSign, decipherOnly
extendedKeyUsage = serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning, 1.2.3.4.5
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = @alt
issuerAltName = DNS:issuer.example
nsComment = \"OpenSSL Generated Certificate\"
nsCertType = client, server, email, objsign, sslCA
crlDistributionPoints = URI:http://crl.example/ca.crl, URI:http://crl2.example/ca.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example, caIssuers;URI:http://ca.example/ca.crt
certificatePolicies = 2.5.29.32.0, 1.2.3.4, @pol
1.2.3.4.5.6 = ASN1:UTF8String:hello world
1.2.3.4.5.7 = critical, DER:00:01:02:7f:80:ff:41:0a
[alt]
DNS.1 = a.example
DNS.2 = *.b.example
IP.1 = 10.1.2.3
IP.2 = 2001:db8::1
email.1 = ops@example.com
URI.1 = https://example.com/x
RID.1 = 1.2.3.4
dirName.1 = dir
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:upn@example
otherName.2 = 1.2.3.4;UTF8:other
[dir]
C = CH
O = Example
CN = Dir Name
[pol]
policyIdentifier = 1.3.6.1.4.1.99999.1
CPS.1 = http://cps.example/cps
userNotice.1 = @notice
[notice]
explicitText = Explicit text
organization = Example Org
noticeNumbers = 1, 2
";
    std::fs::write(dir.path().join("req.cnf"), conf).unwrap();
    run_openssl(
        &[
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-config",
            "req.cnf",
            "-days",
            "3",
        ],
        dir.path(),
    );
    let pem = std::fs::read_to_string(dir.path().join("c.pem")).unwrap();
    assert_same_as_openssl("many extensions", &pem);
}

#[test]
fn signed_by_a_ca_with_issuer_and_serial_in_aki_matches() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    run_openssl(
        &[
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/C=CH/O=Test CA/CN=Root",
            // Top bit set: DER pads it with a 00 that OpenSSL does not
            // print in the leaf's key identifier (a random serial did so
            // one time in a hundred or so).
            "-set_serial",
            "0xa57186e2496b45f5aaeda5c7856d5ea65e0f0c",
            "-days",
            "3",
        ],
        p,
    );
    run_openssl(
        &[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-keyout",
            "s.key",
            "-out",
            "s.csr",
            "-subj",
            "/CN=hsm.example",
        ],
        p,
    );
    std::fs::write(
        p.join("ext.cnf"),
        "authorityKeyIdentifier = keyid:always, issuer:always\nsubjectAltName = DNS:hsm.example\n",
    )
    .unwrap();
    run_openssl(
        &[
            "x509",
            "-req",
            "-in",
            "s.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x0123456789abcdef0123",
            "-days",
            "3",
            "-extfile",
            "ext.cnf",
            "-out",
            "s.pem",
        ],
        p,
    );
    let pem = std::fs::read_to_string(p.join("s.pem")).unwrap();
    assert_same_as_openssl("CA-signed", &pem);
    // Version 1 (no extensions).
    run_openssl(
        &[
            "x509", "-req", "-in", "s.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "3",
            "-out", "v1.pem",
        ],
        p,
    );
    let v1 = std::fs::read_to_string(p.join("v1.pem")).unwrap();
    assert_same_as_openssl("no extensions", &v1);
}

#[test]
fn object_names_match_openssl() {
    // Encode every OID of the table and let `openssl asn1parse` name them.
    fn encode_oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut out = Vec::new();
        let mut put = |mut v: u64| {
            let mut tmp = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            tmp.reverse();
            out.extend(tmp);
        };
        put(arcs[0] * 40 + arcs[1]);
        for &a in &arcs[2..] {
            put(a);
        }
        let mut tlv = vec![0x06, out.len() as u8];
        tlv.extend(out);
        tlv
    }
    let entries: Vec<_> = oids::all().collect();
    let mut body = Vec::new();
    for (dotted, _, _) in &entries {
        body.extend(encode_oid(dotted));
    }
    let mut der_bytes = vec![0x30];
    super::push_len(&mut der_bytes, body.len());
    der_bytes.extend(body);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("o.der"), &der_bytes).unwrap();
    let out = run_openssl(&["asn1parse", "-inform", "DER", "-in", "o.der"], dir.path());
    let names: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("OBJECT"))
        .map(|l| l.rsplit_once(':').unwrap().1)
        .collect();
    assert_eq!(names.len(), entries.len());
    for ((dotted, _, ln), got) in entries.iter().zip(names) {
        assert_eq!(*ln, got, "long name of {dotted}");
    }
}

#[test]
fn refuses_what_is_not_one_certificate() {
    assert!(openssl_text("").is_err());
    assert!(
        openssl_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
    );
}
