//! `openssl x509 -text -noout`, re-implemented: the certificate printed the
//! way OpenSSL 3.0 prints it, line for line, so that `ntl-qa-cert-show`
//! looks exactly like the Quantis Appliance's.
//!
//! Each function mirrors the OpenSSL routine named in its comment
//! (`X509_print_ex`, `do_name_ex`, `X509V3_EXT_val_prn`, ...), including
//! its quirks (the trailing space after a non-critical extension name,
//! 15 bytes per line for keys and 18 for signatures, decimal serial numbers
//! when they fit in a `long`). Covered: RSA, EC (named curves) and Ed25519
//! keys; the signature algorithms that go with them; the Basic Constraints,
//! Key Usage, Extended Key Usage, Subject/Authority Key Identifier,
//! Subject/Issuer Alternative Name, CRL Distribution Points, Authority
//! Information Access, Certificate Policies, Netscape Cert Type and Netscape
//! Comment extensions; unknown extensions as OpenSSL prints them (raw bytes).
//! Not covered (the output then differs from OpenSSL's): RSA-PSS and DSA
//! parameters, explicit EC parameters, and rarer extensions OpenSSL knows
//! (name constraints, policy constraints, SCT lists, ...).

use super::cert::{decode_single_certificate, ip_from_bytes, name_attributes};
use super::der::{self, DerError, DerResult, Reader, Tlv};
use super::oids;
use crate::error::{Error, Result};

/// The certificate in `cert_pem` printed exactly as `openssl x509 -text
/// -noout` (OpenSSL 3.0) prints it. The PEM goes through the same checks as
/// an uploaded certificate (one certificate, no key, well-formed).
pub fn openssl_text(cert_pem: &str) -> Result<String> {
    let der_bytes = decode_single_certificate(cert_pem.as_bytes())?;
    render(&der_bytes).map_err(|e| Error::Certificate(format!("cannot print the certificate: {e}")))
}

/// `X509_print_ex(bp, x, XN_FLAG_ONELINE, 0)`.
fn render(der_bytes: &[u8]) -> DerResult<String> {
    let mut out = String::new();
    let cert = Reader::new(der_bytes).expect(der::TAG_SEQUENCE)?;
    let mut r = cert.reader();
    let tbs = r.expect(der::TAG_SEQUENCE)?;
    let sig_alg = r.expect(der::TAG_SEQUENCE)?;
    let sig = r.expect(der::TAG_BIT_STRING)?;

    out.push_str("Certificate:\n    Data:\n");
    let mut t = tbs.reader();
    let version = match t.optional(0xa0)? {
        Some(v) => {
            let int = v.reader().expect(der::TAG_INTEGER)?;
            let (mag, neg) = der::integer_magnitude(int.content);
            let value = small_value(&mag).ok_or(DerError("bad version"))?;
            if neg {
                -(value as i128)
            } else {
                value as i128
            }
        }
        None => 0,
    };
    if (0..=2).contains(&version) {
        out.push_str(&format!(
            "        Version: {} (0x{:x})\n",
            version + 1,
            version
        ));
    } else {
        out.push_str(&format!("        Version: Unknown ({version})\n"));
    }

    out.push_str("        Serial Number:");
    serial_number(&mut out, t.expect(der::TAG_INTEGER)?.content);

    let tbs_sig = t.expect(der::TAG_SEQUENCE)?;
    out.push_str("    ");
    signature_print(&mut out, tbs_sig, None)?;

    let issuer = t.expect(der::TAG_SEQUENCE)?;
    out.push_str("        Issuer: ");
    out.push_str(&name_oneline(issuer.raw));
    out.push('\n');

    let validity = t.expect(der::TAG_SEQUENCE)?;
    let mut v = validity.reader();
    out.push_str("        Validity\n            Not Before: ");
    out.push_str(&time_print(v.read()?)?);
    out.push_str("\n            Not After : ");
    out.push_str(&time_print(v.read()?)?);
    out.push('\n');

    let subject = t.expect(der::TAG_SEQUENCE)?;
    out.push_str("        Subject: ");
    out.push_str(&name_oneline(subject.raw));
    out.push('\n');

    let spki = t.expect(der::TAG_SEQUENCE)?;
    public_key_print(&mut out, spki)?;

    if let Some(iuid) = t.optional(0x81)? {
        out.push_str("        Issuer Unique ID: ");
        signature_dump(&mut out, iuid.content.get(1..).unwrap_or(&[]), 12);
    }
    if let Some(suid) = t.optional(0x82)? {
        out.push_str("        Subject Unique ID: ");
        signature_dump(&mut out, suid.content.get(1..).unwrap_or(&[]), 12);
    }
    if let Some(exts) = t.optional(0xa3)? {
        let list = exts.reader().expect(der::TAG_SEQUENCE)?;
        extensions_print(&mut out, list)?;
    }

    signature_print(&mut out, sig_alg, Some(sig.content.get(1..).unwrap_or(&[])))?;
    Ok(out)
}

/// A non-negative integer magnitude that fits in 64 bits.
fn small_value(mag: &[u8]) -> Option<u64> {
    if mag.len() > 8 {
        return None;
    }
    Some(mag.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// The serial number part of `X509_print_ex`: decimal and hex on the same
/// line when it fits in a `long`, colon hex on the next line otherwise.
fn serial_number(out: &mut String, content: &[u8]) {
    let (mag, negative) = der::integer_magnitude(content);
    // ASN1_INTEGER_get: -1 on overflow (and, historically, for the value -1).
    let l: Option<i128> = small_value(&mag).and_then(|v| {
        let v = i128::from(v);
        let v = if negative { -v } else { v };
        (v >= i128::from(i64::MIN) && v <= i128::from(i64::MAX) && v != -1).then_some(v)
    });
    match l {
        Some(l) => {
            let (neg, ul) = if negative { ("-", -l) } else { ("", l) };
            out.push_str(&format!(" {neg}{ul} ({neg}0x{ul:x})\n"));
        }
        None => {
            let neg = if negative { " (Negative)" } else { "" };
            out.push_str(&format!("\n            {neg}"));
            let bytes = if mag.is_empty() { vec![0] } else { mag };
            out.push_str(&lower_colon_hex(&bytes));
            out.push('\n');
        }
    }
}

fn lower_colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn upper_colon_hex(bytes: &[u8]) -> String {
    crate::tls::colon_hex(bytes)
}

/// `X509_signature_print`: the algorithm line, then (for the outer
/// signature) "Signature Value:" and the dump.
fn signature_print(out: &mut String, alg: Tlv<'_>, sig: Option<&[u8]>) -> DerResult<()> {
    let oid = der::oid_to_string(alg.reader().expect(der::TAG_OID)?.content)?;
    out.push_str("    Signature Algorithm: ");
    out.push_str(&oids::long_name_or_dotted(&oid));
    if sig.is_some() {
        out.push_str("\n    Signature Value:");
    }
    out.push('\n');
    if let Some(sig) = sig {
        signature_dump(out, sig, 8);
    }
    Ok(())
}

/// `X509_signature_dump`: 18 bytes per line, lower-case colon hex.
fn signature_dump(out: &mut String, data: &[u8], indent: usize) {
    for (i, b) in data.iter().enumerate() {
        if i % 18 == 0 {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&format!("{b:02x}"));
        if i + 1 != data.len() {
            out.push(':');
        }
    }
    out.push('\n');
}

/// `ASN1_TIME_print_ex(bp, t, ASN1_DTFLGS_RFC822)`:
/// `Apr  5 14:08:38 2017 GMT`.
fn time_print(t: Tlv<'_>) -> DerResult<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = std::str::from_utf8(t.content).map_err(|_| DerError("bad time"))?;
    let digits = |from: usize, len: usize| -> DerResult<u32> {
        s.get(from..from + len)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or(DerError("bad time"))
    };
    let (year, rest) = match t.tag {
        der::TAG_UTC_TIME => {
            let yy = digits(0, 2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        der::TAG_GENERALIZED_TIME => (digits(0, 4)?, 4),
        _ => return Err(DerError("bad time")),
    };
    let month = digits(rest, 2)?;
    let day = digits(rest + 2, 2)?;
    let hour = digits(rest + 4, 2)?;
    let minute = digits(rest + 6, 2)?;
    let second = digits(rest + 8, 2)?;
    let mut fraction = "";
    if t.tag == der::TAG_GENERALIZED_TIME && s[rest + 10..].starts_with('.') {
        let frac = &s[rest + 10..];
        let n = 1 + frac[1..].bytes().take_while(u8::is_ascii_digit).count();
        fraction = &frac[..n];
    }
    let month_name = MONTHS
        .get((month as usize).wrapping_sub(1))
        .ok_or(DerError("bad time"))?;
    let gmt = if s.ends_with('Z') { " GMT" } else { "" };
    Ok(format!(
        "{month_name} {day:2} {hour:02}:{minute:02}:{second:02}{fraction} {year}{gmt}"
    ))
}

// ---------------------------------------------------------------------------
// Names.

/// `charmap.h`: character classes for escaping (index = ASCII code).
const CHAR_TYPE: [u16; 128] = [
    1026, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 120, 0, 1, 40, 0, 0, 0, 16, 1040, 1040, 33792, 25, 25, 16400, 8208, 16, 4112, 4112, 4112,
    4112, 4112, 4112, 4112, 4112, 4112, 4112, 16, 9, 9, 16, 9, 16, 0, 4112, 4112, 4112, 4112, 4112,
    4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112,
    4112, 4112, 4112, 4112, 4112, 0, 1025, 0, 0, 0, 0, 4112, 4112, 4112, 4112, 4112, 4112, 4112,
    4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112, 4112,
    4112, 4112, 4112, 0, 0, 0, 0, 2,
];
const ESC_2253: u16 = 1;
const ESC_CTRL: u16 = 2;
const ESC_MSB: u16 = 4;
const ESC_QUOTE: u16 = 8;
const ESC_2254: u16 = 0x400;
const FIRST_ESC_2253: u16 = 0x20;
const LAST_ESC_2253: u16 = 0x40;
const BS_ESC: u16 = ESC_2253 | FIRST_ESC_2253 | LAST_ESC_2253;
/// The escape part of `XN_FLAG_ONELINE` (`ASN1_STRFLGS_RFC2253 | ESC_QUOTE`).
const ONELINE_ESC: u16 = ESC_2253 | ESC_CTRL | ESC_MSB | ESC_QUOTE;

/// `do_esc_char` for one character code.
fn esc_char(out: &mut String, c: u32, flags: u16, quotes: &mut bool) {
    if c > 0xffff {
        out.push_str(&format!("\\W{c:08X}"));
        return;
    }
    if c > 0xff {
        out.push_str(&format!("\\U{c:04X}"));
        return;
    }
    let ch = c as u8;
    let chflgs = if ch > 0x7f {
        flags & ESC_MSB
    } else {
        CHAR_TYPE[usize::from(ch)] & flags
    };
    if chflgs & BS_ESC != 0 {
        if chflgs & ESC_QUOTE != 0 {
            *quotes = true;
            out.push(char::from(ch));
        } else {
            out.push('\\');
            out.push(char::from(ch));
        }
        return;
    }
    if chflgs & (ESC_CTRL | ESC_MSB | ESC_2254) != 0 {
        out.push_str(&format!("\\{ch:02X}"));
        return;
    }
    if ch == b'\\' && flags != 0 {
        out.push_str("\\\\");
        return;
    }
    out.push(char::from(ch));
}

/// `UTF8_putc`, which also encodes values Rust's `char` refuses.
fn utf8_put(c: u32) -> Vec<u8> {
    let b = |v: u32| (v & 0xff) as u8;
    match c {
        0..=0x7f => vec![b(c)],
        0x80..=0x7ff => vec![b(0xc0 | (c >> 6)), b(0x80 | (c & 0x3f))],
        0x800..=0xffff => vec![
            b(0xe0 | (c >> 12)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ],
        0x1_0000..=0x1f_ffff => vec![
            b(0xf0 | (c >> 18)),
            b(0x80 | ((c >> 12) & 0x3f)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ],
        0x20_0000..=0x3ff_ffff => vec![
            b(0xf8 | (c >> 24)),
            b(0x80 | ((c >> 18) & 0x3f)),
            b(0x80 | ((c >> 12) & 0x3f)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ],
        _ => vec![
            b(0xfc | ((c >> 30) & 0x01)),
            b(0x80 | ((c >> 24) & 0x3f)),
            b(0x80 | ((c >> 18) & 0x3f)),
            b(0x80 | ((c >> 12) & 0x3f)),
            b(0x80 | ((c >> 6) & 0x3f)),
            b(0x80 | (c & 0x3f)),
        ],
    }
}

/// `do_print_ex` with the `XN_FLAG_ONELINE` string flags (RFC 2253
/// escaping with quotes, UTF-8 conversion, DER dump of non-strings).
fn string_print_oneline(value: Tlv<'_>) -> String {
    // tag2nbyte: bytes per character, 0 = UTF-8, None = dump.
    let width: Option<usize> = if value.tag & 0xe0 != 0 {
        None // not a universal primitive type
    } else {
        match value.tag {
            12 => Some(0),
            18 | 19 | 20 | 22 | 23 | 24 | 26 => Some(1),
            28 => Some(4),
            30 => Some(2),
            _ => None,
        }
    };
    let Some(width) = width else {
        let hex: String = value.raw.iter().map(|b| format!("{b:02X}")).collect();
        return format!("#{hex}");
    };
    // UTF8_CONVERT: a UTF8String is shown byte by byte, other types are
    // converted to UTF-8 first.
    let (width, convert) = if width == 0 {
        (1, false)
    } else {
        (width, true)
    };
    let data = value.content;
    if !data.len().is_multiple_of(width) {
        return String::new();
    }
    let codes: Vec<u32> = data
        .chunks_exact(width)
        .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        .collect();
    let mut body = String::new();
    let mut quotes = false;
    let n = codes.len();
    for (i, &c) in codes.iter().enumerate() {
        let mut orflags = if i == 0 { FIRST_ESC_2253 } else { 0 };
        if i + 1 == n {
            orflags = LAST_ESC_2253;
        }
        let flags = ONELINE_ESC | orflags;
        if convert {
            for byte in utf8_put(c) {
                esc_char(&mut body, u32::from(byte), flags, &mut quotes);
            }
        } else {
            esc_char(&mut body, c, flags, &mut quotes);
        }
    }
    if quotes {
        format!("\"{body}\"")
    } else {
        body
    }
}

/// `X509_NAME_print_ex(bp, name, 0, XN_FLAG_ONELINE)`:
/// `C = CA, ST = Ontario, O = x + OU = y, CN = z`.
fn name_oneline(name_raw: &[u8]) -> String {
    let mut out = String::new();
    for (i, rdn) in name_attributes(name_raw).into_iter().enumerate() {
        for (j, (dotted, value)) in rdn.into_iter().enumerate() {
            if j > 0 {
                out.push_str(" + ");
            } else if i > 0 {
                out.push_str(", ");
            }
            out.push_str(oids::short_name(&dotted).unwrap_or(&dotted));
            out.push_str(" = ");
            out.push_str(&string_print_oneline(value));
        }
    }
    out
}

/// `X509_NAME_oneline`: `/C=CA/O=Gemalto/CN=x`.
fn name_slashes(name_raw: &[u8]) -> String {
    let mut out = String::new();
    for (dotted, value) in name_attributes(name_raw).into_iter().flatten() {
        out.push('/');
        out.push_str(oids::short_name(&dotted).unwrap_or(&dotted));
        out.push('=');
        for &b in value.content {
            if !(b' '..=b'~').contains(&b) {
                out.push_str(&format!("\\x{b:02X}"));
            } else {
                out.push(char::from(b));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Public keys.

/// `EVP_PKEY_print_public(bp, pkey, 16, NULL)` after the algorithm line.
fn public_key_print(out: &mut String, spki: Tlv<'_>) -> DerResult<()> {
    let mut r = spki.reader();
    let alg = r.expect(der::TAG_SEQUENCE)?;
    let bits = r.expect(der::TAG_BIT_STRING)?.content;
    let mut a = alg.reader();
    let oid = der::oid_to_string(a.expect(der::TAG_OID)?.content)?;
    out.push_str("        Subject Public Key Info:\n            Public Key Algorithm: ");
    out.push_str(&oids::long_name_or_dotted(&oid));
    out.push('\n');
    let key = bits.get(1..).ok_or(DerError("empty public key"))?;
    let mut lines: Vec<String> = Vec::new();
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => {
            let seq = Reader::new(key).expect(der::TAG_SEQUENCE)?;
            let mut k = seq.reader();
            let (n, _) = der::integer_magnitude(k.expect(der::TAG_INTEGER)?.content);
            let (e, _) = der::integer_magnitude(k.expect(der::TAG_INTEGER)?.content);
            let nbits = n.first().map_or(0, |&top| {
                (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
            });
            lines.push(format!("Public-Key: ({nbits} bit)"));
            labeled_bignum(&mut lines, "Modulus:", &n);
            labeled_bignum(&mut lines, "Exponent:", &e);
        }
        "1.2.840.10045.2.1" => {
            let curve = match a.optional(der::TAG_OID)? {
                Some(c) => der::oid_to_string(c.content)?,
                None => return Err(DerError("explicit EC parameters are not supported")),
            };
            let size =
                oids::curve_order_bits(&curve).ok_or(DerError("unsupported elliptic curve"))?;
            lines.push(format!("Public-Key: ({size} bit)"));
            labeled_buf(&mut lines, "pub:", key);
            lines.push(format!(
                "ASN1 OID: {}",
                oids::short_name(&curve).unwrap_or(&curve)
            ));
            if let Some(nist) = oids::nist_curve(&curve) {
                lines.push(format!("NIST CURVE: {nist}"));
            }
        }
        "1.3.101.112" | "1.3.101.113" => {
            let label = if oid == "1.3.101.112" {
                "ED25519"
            } else {
                "ED448"
            };
            lines.push(format!("{label} Public-Key:"));
            labeled_buf(&mut lines, "pub:", key);
        }
        _ => return Err(DerError("unsupported public key algorithm")),
    }
    for line in lines {
        out.push_str("                ");
        out.push_str(&line);
        out.push('\n');
    }
    Ok(())
}

/// `print_labeled_bignum` (providers' key-to-text encoder).
fn labeled_bignum(lines: &mut Vec<String>, label: &str, mag: &[u8]) {
    if mag.is_empty() {
        lines.push(format!("{label} 0"));
        return;
    }
    if mag.len() <= 8 {
        let v = small_value(mag).unwrap_or(0);
        lines.push(format!("{label} {v} (0x{v:x})"));
        return;
    }
    lines.push(label.to_owned());
    let mut bytes: Vec<u8> = Vec::with_capacity(mag.len() + 1);
    if mag[0] >= 0x80 {
        bytes.push(0);
    }
    bytes.extend_from_slice(mag);
    let chunks: Vec<&[u8]> = bytes.chunks(15).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut line = format!("    {}", lower_colon_hex(chunk));
        if i + 1 < chunks.len() {
            line.push(':');
        }
        lines.push(line);
    }
}

/// `print_labeled_buf`: 15 bytes per line.
fn labeled_buf(lines: &mut Vec<String>, label: &str, buf: &[u8]) {
    lines.push(label.to_owned());
    let chunks: Vec<&[u8]> = buf.chunks(15).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut line = format!("    {}", lower_colon_hex(chunk));
        if i + 1 < chunks.len() {
            line.push(':');
        }
        lines.push(line);
    }
}

// ---------------------------------------------------------------------------
// Extensions.

/// `X509V3_extensions_print(bp, "X509v3 extensions", exts, 0, 8)`.
fn extensions_print(out: &mut String, list: Tlv<'_>) -> DerResult<()> {
    let mut exts = list.reader();
    if exts.is_empty() {
        return Ok(());
    }
    out.push_str("        X509v3 extensions:\n");
    while !exts.is_empty() {
        let ext = exts.expect(der::TAG_SEQUENCE)?;
        let mut e = ext.reader();
        let oid = der::oid_to_string(e.expect(der::TAG_OID)?.content)?;
        let critical = match e.optional(der::TAG_BOOLEAN)? {
            Some(b) => b.content.first().is_some_and(|&v| v != 0),
            None => false,
        };
        let value = e.expect(der::TAG_OCTET_STRING)?.content;
        out.push_str("            ");
        out.push_str(&oids::long_name_or_dotted(&oid));
        out.push_str(if critical { ": critical\n" } else { ": \n" });
        match extension_body(&oid, value, 16) {
            Some(body) => out.push_str(&body),
            None => {
                out.push_str(&" ".repeat(16));
                out.push_str(&asn1_string_print(value));
            }
        }
        out.push('\n');
    }
    Ok(())
}

/// `ASN1_STRING_print`: printable ASCII, `\n` and `\r` as they are, every
/// other byte as `.`.
fn asn1_string_print(data: &[u8]) -> String {
    data.iter()
        .map(|&b| {
            if b > b'~' || (b < b' ' && b != b'\n' && b != b'\r') {
                '.'
            } else {
                char::from(b)
            }
        })
        .collect()
}

/// One `CONF_VALUE` of an `i2v` method.
struct Nv {
    name: Option<String>,
    value: Option<String>,
}

fn nv(name: Option<&str>, value: Option<String>) -> Nv {
    Nv {
        name: name.map(str::to_owned),
        value,
    }
}

/// `X509V3_EXT_val_prn`.
fn val_prn(vals: &[Nv], indent: usize, multiline: bool) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    if !multiline || vals.is_empty() {
        out.push_str(&pad);
        if vals.is_empty() {
            out.push_str("<EMPTY>\n");
        }
    }
    for (i, v) in vals.iter().enumerate() {
        if multiline {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&pad);
        } else if i > 0 {
            out.push_str(", ");
        }
        match (&v.name, &v.value) {
            (None, Some(value)) => out.push_str(value),
            (Some(name), None) => out.push_str(name),
            (Some(name), Some(value)) => {
                out.push_str(name);
                out.push(':');
                out.push_str(value);
            }
            (None, None) => {}
        }
    }
    out
}

/// The text OpenSSL prints for a known extension, or `None` when it would
/// fall back to the raw bytes (unknown or unparsable extension).
fn extension_body(oid: &str, value: &[u8], indent: usize) -> Option<String> {
    let pad = " ".repeat(indent);
    match oid {
        // Subject Key Identifier: i2s_ASN1_OCTET_STRING.
        "2.5.29.14" => {
            let os = whole(value, der::TAG_OCTET_STRING)?;
            Some(format!("{pad}{}", upper_colon_hex(os.content)))
        }
        // Key Usage and Netscape Cert Type: i2v_ASN1_BIT_STRING.
        "2.5.29.15" => bit_names(value, &KEY_USAGE).map(|v| val_prn(&v, indent, false)),
        "2.16.840.1.113730.1.1" => {
            bit_names(value, &NS_CERT_TYPE).map(|v| val_prn(&v, indent, false))
        }
        // Subject / Issuer Alternative Name: i2v_GENERAL_NAMES.
        "2.5.29.17" | "2.5.29.18" => {
            let seq = whole(value, der::TAG_SEQUENCE)?;
            let mut vals = Vec::new();
            let mut r = seq.reader();
            while !r.is_empty() {
                vals.push(general_name_i2v(r.read().ok()?)?);
            }
            Some(val_prn(&vals, indent, false))
        }
        // Basic Constraints.
        "2.5.29.19" => {
            let seq = whole(value, der::TAG_SEQUENCE)?;
            let mut r = seq.reader();
            let ca = match r.optional(der::TAG_BOOLEAN).ok()? {
                Some(b) => b.content.first().is_some_and(|&v| v != 0),
                None => false,
            };
            let mut vals = vec![nv(
                Some("CA"),
                Some(if ca { "TRUE" } else { "FALSE" }.into()),
            )];
            if let Some(p) = r.optional(der::TAG_INTEGER).ok()? {
                vals.push(nv(Some("pathlen"), Some(integer_text(p.content))));
            }
            r.finish().ok()?;
            Some(val_prn(&vals, indent, false))
        }
        // Authority Key Identifier (multi-line).
        "2.5.29.35" => {
            let seq = whole(value, der::TAG_SEQUENCE)?;
            let mut r = seq.reader();
            let keyid = r.optional(0x80).ok()?;
            let issuer = r.optional(0xa1).ok()?;
            let serial = r.optional(0x82).ok()?;
            r.finish().ok()?;
            let mut vals = Vec::new();
            if let Some(k) = keyid {
                let label = (issuer.is_some() || serial.is_some()).then_some("keyid");
                vals.push(nv(label, Some(upper_colon_hex(k.content))));
            }
            if let Some(iss) = issuer {
                let mut g = iss.reader();
                while !g.is_empty() {
                    vals.push(general_name_i2v(g.read().ok()?)?);
                }
            }
            if let Some(s) = serial {
                // OpenSSL prints the INTEGER's magnitude: no DER sign
                // padding (a serial whose top bit is set has a 00 first).
                let (mag, _) = der::integer_magnitude(s.content);
                let bytes = if mag.is_empty() { vec![0] } else { mag };
                vals.push(nv(Some("serial"), Some(upper_colon_hex(&bytes))));
            }
            Some(val_prn(&vals, indent, true))
        }
        // Extended Key Usage: i2v_EXTENDED_KEY_USAGE.
        "2.5.29.37" => {
            let seq = whole(value, der::TAG_SEQUENCE)?;
            let mut vals = Vec::new();
            let mut r = seq.reader();
            while !r.is_empty() {
                let o = r.expect(der::TAG_OID).ok()?;
                let dotted = der::oid_to_string(o.content).ok()?;
                vals.push(nv(None, Some(oids::long_name_or_dotted(&dotted))));
            }
            Some(val_prn(&vals, indent, false))
        }
        // Authority Information Access (multi-line): "OCSP - URI:...".
        "1.3.6.1.5.5.7.1.1" => {
            let seq = whole(value, der::TAG_SEQUENCE)?;
            let mut vals = Vec::new();
            let mut r = seq.reader();
            while !r.is_empty() {
                let ad = r.expect(der::TAG_SEQUENCE).ok()?;
                let mut a = ad.reader();
                let method = der::oid_to_string(a.expect(der::TAG_OID).ok()?.content).ok()?;
                let loc = general_name_i2v(a.read().ok()?)?;
                a.finish().ok()?;
                let name = format!(
                    "{} - {}",
                    oids::long_name_or_dotted(&method),
                    loc.name.unwrap_or_default()
                );
                vals.push(Nv {
                    name: Some(name),
                    value: loc.value,
                });
            }
            Some(val_prn(&vals, indent, true))
        }
        // CRL Distribution Points: i2r_crldp.
        "2.5.29.31" => crl_dp(value, indent),
        // Certificate Policies: i2r_certpol.
        "2.5.29.32" => cert_policies(value, indent),
        // Netscape Comment: i2s_ASN1_IA5STRING.
        "2.16.840.1.113730.1.13" => {
            let s = whole(value, der::TAG_IA5_STRING)?;
            if s.content.is_empty() {
                return None;
            }
            let end = s
                .content
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(s.content.len());
            Some(format!(
                "{pad}{}",
                String::from_utf8_lossy(&s.content[..end])
            ))
        }
        _ => None,
    }
}

/// The single element making up `value`, with this tag.
fn whole(value: &[u8], tag: u8) -> Option<Tlv<'_>> {
    let mut r = Reader::new(value);
    let tlv = r.expect(tag).ok()?;
    r.finish().ok()?;
    Some(tlv)
}

/// `i2s_ASN1_INTEGER`: decimal, or `0x` hex when it does not fit a long.
fn integer_text(content: &[u8]) -> String {
    let (mag, negative) = der::integer_magnitude(content);
    let sign = if negative { "-" } else { "" };
    match small_value(&mag).filter(|&v| v <= i64::MAX as u64) {
        Some(v) => format!("{sign}{v}"),
        None => {
            let hex: String = mag.iter().map(|b| format!("{b:02X}")).collect();
            format!("{sign}0x{hex}")
        }
    }
}

const KEY_USAGE: [&str; 9] = [
    "Digital Signature",
    "Non Repudiation",
    "Key Encipherment",
    "Data Encipherment",
    "Key Agreement",
    "Certificate Sign",
    "CRL Sign",
    "Encipher Only",
    "Decipher Only",
];

const NS_CERT_TYPE: [&str; 8] = [
    "SSL Client",
    "SSL Server",
    "S/MIME",
    "Object Signing",
    "Unused",
    "SSL CA",
    "S/MIME CA",
    "Object Signing CA",
];

/// `i2v_ASN1_BIT_STRING`: the names of the bits that are set.
fn bit_names(value: &[u8], names: &[&str]) -> Option<Vec<Nv>> {
    let bits = whole(value, der::TAG_BIT_STRING)?;
    let data = bits.content.get(1..)?;
    let is_set = |n: usize| data.get(n / 8).is_some_and(|b| b & (0x80 >> (n % 8)) != 0);
    Some(
        names
            .iter()
            .enumerate()
            .filter(|(n, _)| is_set(*n))
            .map(|(_, name)| nv(Some(name), None))
            .collect(),
    )
}

/// `ossl_ipaddr_to_asc`: dotted IPv4, or eight upper-case hex groups
/// without zero compression for IPv6.
fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => ip_from_bytes(bytes).map_or_else(String::new, |ip| ip.to_string()),
        16 => bytes
            .chunks_exact(2)
            .map(|c| format!("{:X}", u16::from_be_bytes([c[0], c[1]])))
            .collect::<Vec<_>>()
            .join(":"),
        _ => "<invalid>".to_owned(),
    }
}

/// `x509v3_add_len_value_uchar`: the text of an IA5String, `None` value
/// when empty; embedded NULs make the whole extension unprintable.
fn ia5_value(content: &[u8]) -> Option<Option<String>> {
    if content.is_empty() {
        return Some(None);
    }
    if content[..content.len() - 1].contains(&0) {
        return None;
    }
    let end = content
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(content.len());
    Some(Some(String::from_utf8_lossy(&content[..end]).into_owned()))
}

/// `i2v_GENERAL_NAME`.
fn general_name_i2v(gn: Tlv<'_>) -> Option<Nv> {
    if !gn.is_context() {
        return None;
    }
    Some(match gn.number() {
        0 => {
            // otherName: SEQUENCE { type-id OID, [0] EXPLICIT value }
            let mut r = gn.reader();
            let type_id = der::oid_to_string(r.expect(der::TAG_OID).ok()?.content).ok()?;
            let value = r.expect(0xa0).ok()?.reader().read().ok()?;
            let special = match type_id.as_str() {
                "1.3.6.1.5.5.7.8.9" => Some(("othername: SmtpUTF8Mailbox:", der::TAG_UTF8_STRING)),
                "1.3.6.1.5.5.7.8.5" => Some(("othername: XmppAddr:", der::TAG_UTF8_STRING)),
                "1.3.6.1.5.5.7.8.7" => Some(("othername: SRVName:", der::TAG_IA5_STRING)),
                "1.3.6.1.4.1.311.20.2.3" => Some(("othername: UPN:", der::TAG_UTF8_STRING)),
                "1.3.6.1.5.5.7.8.8" => Some(("othername: NAIRealm:", der::TAG_UTF8_STRING)),
                _ => None,
            };
            match special {
                Some((label, tag)) => {
                    if value.tag != tag {
                        return None;
                    }
                    Nv {
                        name: Some(label.to_owned()),
                        value: ia5_value(value.content)?,
                    }
                }
                None => {
                    // OpenSSL 3.0: "othername: <type>:" then the text of an
                    // IA5String or UTF8String value, else "<unsupported>".
                    let label = format!("othername: {}:", oids::long_name_or_dotted(&type_id));
                    let text =
                        if value.tag == der::TAG_IA5_STRING || value.tag == der::TAG_UTF8_STRING {
                            ia5_value(value.content)
                        } else {
                            None
                        };
                    Nv {
                        name: Some(label),
                        value: text.unwrap_or_else(|| Some("<unsupported>".into())),
                    }
                }
            }
        }
        1 => Nv {
            name: Some("email".into()),
            value: ia5_value(gn.content)?,
        },
        2 => Nv {
            name: Some("DNS".into()),
            value: ia5_value(gn.content)?,
        },
        3 => nv(Some("X400Name"), Some("<unsupported>".into())),
        4 => {
            let name = gn.reader().expect(der::TAG_SEQUENCE).ok()?;
            nv(Some("DirName"), Some(name_slashes(name.raw)))
        }
        5 => nv(Some("EdiPartyName"), Some("<unsupported>".into())),
        6 => Nv {
            name: Some("URI".into()),
            value: ia5_value(gn.content)?,
        },
        7 => nv(Some("IP Address"), Some(ip_text(gn.content))),
        8 => {
            let dotted = der::oid_to_string(gn.content).ok()?;
            nv(
                Some("Registered ID"),
                Some(oids::long_name_or_dotted(&dotted)),
            )
        }
        _ => return None,
    })
}

/// `GENERAL_NAME_print`.
fn general_name_print(gn: Tlv<'_>) -> Option<String> {
    if !gn.is_context() {
        return None;
    }
    Some(match gn.number() {
        0 => "othername:<unsupported>".to_owned(),
        1 => format!("email:{}", asn1_string_print(gn.content)),
        2 => format!("DNS:{}", asn1_string_print(gn.content)),
        3 => "X400Name:<unsupported>".to_owned(),
        4 => {
            let name = gn.reader().expect(der::TAG_SEQUENCE).ok()?;
            format!("DirName:{}", name_oneline(name.raw))
        }
        5 => "EdiPartyName:<unsupported>".to_owned(),
        6 => format!("URI:{}", asn1_string_print(gn.content)),
        7 => format!("IP Address:{}", ip_text(gn.content)),
        8 => {
            let dotted = der::oid_to_string(gn.content).ok()?;
            format!("Registered ID:{}", oids::long_name_or_dotted(&dotted))
        }
        _ => return None,
    })
}

/// `print_gens`: one general name per line, indented by two more.
fn print_gens(out: &mut String, names: Tlv<'_>, indent: usize) -> Option<()> {
    let mut r = names.reader();
    let mut first = true;
    while !r.is_empty() {
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(&" ".repeat(indent + 2));
        out.push_str(&general_name_print(r.read().ok()?)?);
    }
    Some(())
}

/// `i2r_crldp`.
fn crl_dp(value: &[u8], indent: usize) -> Option<String> {
    const REASONS: [&str; 9] = [
        "Unused",
        "Key Compromise",
        "CA Compromise",
        "Affiliation Changed",
        "Superseded",
        "Cessation Of Operation",
        "Certificate Hold",
        "Privilege Withdrawn",
        "AA Compromise",
    ];
    let pad = " ".repeat(indent);
    let seq = whole(value, der::TAG_SEQUENCE)?;
    let mut out = String::new();
    let mut r = seq.reader();
    let mut first = true;
    while !r.is_empty() {
        if !first {
            out.push('\n');
        }
        first = false;
        let dp = r.expect(der::TAG_SEQUENCE).ok()?;
        let mut d = dp.reader();
        if let Some(name) = d.optional(0xa0).ok()? {
            let inner = name.reader().read().ok()?;
            match inner.tag {
                0xa0 => {
                    out.push_str(&format!("{pad}Full Name:\n"));
                    print_gens(&mut out, inner, indent)?;
                }
                0xa1 => {
                    // A relative name: printed as a one-entry Name.
                    let mut set = vec![der::TAG_SET];
                    push_len(&mut set, inner.content.len());
                    set.extend_from_slice(inner.content);
                    let mut name_der = vec![der::TAG_SEQUENCE];
                    push_len(&mut name_der, set.len());
                    name_der.extend_from_slice(&set);
                    out.push_str(&format!(
                        "{pad}Relative Name:\n{}{}",
                        " ".repeat(indent + 2),
                        name_oneline(&name_der)
                    ));
                }
                _ => return None,
            }
        }
        if let Some(reasons) = d.optional(0x81).ok()? {
            let data = reasons.content.get(1..).unwrap_or(&[]);
            let set: Vec<&str> = REASONS
                .iter()
                .enumerate()
                .filter(|(n, _)| data.get(n / 8).is_some_and(|b| b & (0x80 >> (n % 8)) != 0))
                .map(|(_, s)| *s)
                .collect();
            out.push_str(&format!(
                "{pad}Reasons:\n{}{}",
                " ".repeat(indent + 2),
                if set.is_empty() {
                    "<EMPTY>".to_owned()
                } else {
                    set.join(", ")
                }
            ));
            out.push('\n');
        }
        if let Some(issuer) = d.optional(0xa2).ok()? {
            out.push_str(&format!("{pad}CRL Issuer:\n"));
            print_gens(&mut out, issuer, indent)?;
        }
        d.finish().ok()?;
    }
    Some(out)
}

fn push_len(buf: &mut Vec<u8>, len: usize) {
    if len < 128 {
        buf.push(len as u8);
    } else if len < 256 {
        buf.extend_from_slice(&[0x81, len as u8]);
    } else {
        buf.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// `i2r_certpol` with `print_qualifiers` / `print_notice`.
fn cert_policies(value: &[u8], indent: usize) -> Option<String> {
    let seq = whole(value, der::TAG_SEQUENCE)?;
    let mut out = String::new();
    let mut r = seq.reader();
    let mut first = true;
    while !r.is_empty() {
        if !first {
            out.push('\n');
        }
        first = false;
        let info = r.expect(der::TAG_SEQUENCE).ok()?;
        let mut p = info.reader();
        let policy = der::oid_to_string(p.expect(der::TAG_OID).ok()?.content).ok()?;
        out.push_str(&format!(
            "{}Policy: {}",
            " ".repeat(indent),
            oids::long_name_or_dotted(&policy)
        ));
        if let Some(quals) = p.optional(der::TAG_SEQUENCE).ok()? {
            out.push('\n');
            let qpad = " ".repeat(indent + 2);
            let mut q = quals.reader();
            let mut qfirst = true;
            while !q.is_empty() {
                if !qfirst {
                    out.push('\n');
                }
                qfirst = false;
                let qual = q.expect(der::TAG_SEQUENCE).ok()?;
                let mut qr = qual.reader();
                let qid = der::oid_to_string(qr.expect(der::TAG_OID).ok()?.content).ok()?;
                match qid.as_str() {
                    "1.3.6.1.5.5.7.2.1" => {
                        let uri = qr.expect(der::TAG_IA5_STRING).ok()?;
                        out.push_str(&format!(
                            "{qpad}CPS: {}",
                            String::from_utf8_lossy(uri.content)
                        ));
                    }
                    "1.3.6.1.5.5.7.2.2" => {
                        out.push_str(&format!("{qpad}User Notice:\n"));
                        user_notice(&mut out, qr.read().ok()?, indent + 4)?;
                    }
                    _ => {
                        out.push_str(&format!(
                            "{}Unknown Qualifier: {}",
                            " ".repeat(indent + 4),
                            oids::long_name_or_dotted(&qid)
                        ));
                    }
                }
            }
        }
    }
    Some(out)
}

/// `print_notice`.
fn user_notice(out: &mut String, notice: Tlv<'_>, indent: usize) -> Option<()> {
    let pad = " ".repeat(indent);
    let mut r = notice.reader();
    let mut parts = Vec::new();
    if r.peek_tag() == Some(der::TAG_SEQUENCE) {
        let nr = r.read().ok()?;
        let mut n = nr.reader();
        let org = n.read().ok()?;
        let numbers = n.expect(der::TAG_SEQUENCE).ok()?;
        let mut nums = Vec::new();
        let mut nn = numbers.reader();
        while !nn.is_empty() {
            nums.push(integer_text(nn.expect(der::TAG_INTEGER).ok()?.content));
        }
        let label = if nums.len() > 1 { "Numbers" } else { "Number" };
        parts.push(format!(
            "{pad}Organization: {}\n{pad}{label}: {}",
            String::from_utf8_lossy(org.content),
            nums.join(", ")
        ));
    }
    if let Ok(text) = r.read() {
        parts.push(format!(
            "{pad}Explicit Text: {}",
            String::from_utf8_lossy(text.content)
        ));
    }
    out.push_str(&parts.join("\n"));
    Some(())
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
