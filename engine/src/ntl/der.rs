//! Small, strict helpers for the formats this module reads: PEM armour,
//! base64 and DER (tag-length-value) walking, object identifiers and the
//! ASN.1 string types found in X.509 names.
//!
//! They exist so that the certificate printer can see the exact encoding
//! (tags, order, raw bytes) that `openssl x509 -text` prints; the certificate
//! itself is always validated by `x509-parser` first.

use std::fmt;

/// A DER walking failure. Never carries input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerError(pub &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub(crate) type DerResult<T> = std::result::Result<T, DerError>;

// Universal tags (single octet, including the constructed bit where it applies).
pub(crate) const TAG_BOOLEAN: u8 = 0x01;
pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_UTF8_STRING: u8 = 0x0c;
pub(crate) const TAG_IA5_STRING: u8 = 0x16;
pub(crate) const TAG_UTC_TIME: u8 = 0x17;
pub(crate) const TAG_GENERALIZED_TIME: u8 = 0x18;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;

/// One DER element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (class, constructed bit and tag number < 31).
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// The whole element: identifier, length and content.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the content (for constructed elements).
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }

    /// The tag number without class and constructed bits.
    pub fn number(&self) -> u8 {
        self.tag & 0x1f
    }

    /// Context-specific class (`[n]`).
    pub fn is_context(&self) -> bool {
        self.tag & 0xc0 == 0x80
    }
}

/// Reads consecutive DER elements from a slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// What is left unread.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next element, whatever its tag.
    pub fn read(&mut self) -> DerResult<Tlv<'a>> {
        let data = self.data;
        let (&tag, after_tag) = data
            .split_first()
            .ok_or(DerError("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("unsupported high tag number"));
        }
        let (&first, mut rest) = after_tag
            .split_first()
            .ok_or(DerError("unexpected end of data"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(DerError("indefinite length is not DER"));
            }
            if n > 4 || rest.len() < n {
                return Err(DerError("bad length"));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(DerError("truncated element"));
        }
        let header = data.len() - rest.len();
        let raw = &data[..header + len];
        let content = &rest[..len];
        self.data = &rest[len..];
        Ok(Tlv { tag, content, raw })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8) -> DerResult<Tlv<'a>> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError("unexpected tag"));
        }
        Ok(tlv)
    }

    /// Reads the next element if it has this tag.
    pub fn optional(&mut self, tag: u8) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Checks that everything was consumed.
    pub fn finish(&self) -> DerResult<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DerError("unexpected trailing data"))
        }
    }
}

/// Dotted text of an OID's content octets (`2.5.29.14`).
pub(crate) fn oid_to_string(content: &[u8]) -> DerResult<String> {
    if content.is_empty() {
        return Err(DerError("empty object identifier"));
    }
    let mut arcs: Vec<u128> = Vec::new();
    let mut value: u128 = 0;
    let mut in_arc = false;
    for &b in content {
        if !in_arc && b == 0x80 {
            return Err(DerError("bad object identifier"));
        }
        value = value
            .checked_mul(128)
            .and_then(|v| v.checked_add(u128::from(b & 0x7f)))
            .ok_or(DerError("object identifier arc too large"))?;
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
            in_arc = false;
        } else {
            in_arc = true;
        }
    }
    if in_arc {
        return Err(DerError("truncated object identifier"));
    }
    let mut out = String::new();
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    out.push_str(&format!("{a}.{b}"));
    for arc in &arcs[1..] {
        out.push_str(&format!(".{arc}"));
    }
    Ok(out)
}

/// Decodes the value of an ASN.1 string type to text, when it is one.
pub(crate) fn decode_string(tag: u8, data: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString
        0x0c | 0x12 | 0x13 | 0x16 | 0x1a => std::str::from_utf8(data).ok().map(str::to_owned),
        // T61String: treated as Latin-1, as most software does.
        0x14 => Some(data.iter().map(|&b| char::from(b)).collect()),
        // BMPString (UTF-16BE)
        0x1e => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString (UTF-32BE)
        0x1c => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// Decodes a DER `INTEGER` content to a magnitude (big-endian, no leading
/// zero octets) and a sign.
pub(crate) fn integer_magnitude(content: &[u8]) -> (Vec<u8>, bool) {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let mut bytes = content.to_vec();
    if negative {
        // Two's complement: invert and add one.
        for b in bytes.iter_mut() {
            *b = !*b;
        }
        for b in bytes.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    (bytes[first..].to_vec(), negative)
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Strict standard base64 decoding (padding required, no trailing bits);
/// ASCII whitespace, as PEM bodies have, is ignored.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// One `-----BEGIN label-----` ... `-----END label-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub label: String,
    /// The lines between the armour lines, joined with `\n`.
    pub body: String,
}

/// Why PEM armour could not be split into blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PemError {
    /// A BEGIN line without its END line.
    Unterminated(String),
}

/// Splits a text into its PEM blocks. Text outside blocks is ignored (as
/// openssl does), an unterminated block is an error.
pub(crate) fn pem_blocks(text: &str) -> std::result::Result<Vec<PemBlock>, PemError> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let line = line.trim();
        match current.take() {
            None => {
                if let Some(label) = armour_label(line, "-----BEGIN ") {
                    current = Some((label.to_owned(), Vec::new()));
                }
            }
            Some((label, mut body)) => {
                if let Some(end) = armour_label(line, "-----END ") {
                    if end != label {
                        return Err(PemError::Unterminated(label));
                    }
                    blocks.push(PemBlock {
                        label,
                        body: body.join("\n"),
                    });
                } else if armour_label(line, "-----BEGIN ").is_some() {
                    return Err(PemError::Unterminated(label));
                } else {
                    body.push(line);
                    current = Some((label, body));
                }
            }
        }
    }
    if let Some((label, _)) = current {
        return Err(PemError::Unterminated(label));
    }
    Ok(blocks)
}

fn armour_label<'t>(line: &'t str, prefix: &str) -> Option<&'t str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// Labels of every `-----BEGIN ...-----` line in raw bytes, even when they
/// are not valid UTF-8 as a whole (used to spot keys before anything else).
pub(crate) fn begin_labels(bytes: &[u8]) -> Vec<String> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut labels = Vec::new();
    let mut i = 0;
    while i + BEGIN.len() <= bytes.len() {
        if &bytes[i..i + BEGIN.len()] == BEGIN {
            let start = i + BEGIN.len();
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b'\n' || b == b'-')
                .map_or(bytes.len(), |p| start + p);
            labels.push(String::from_utf8_lossy(&bytes[start..end]).into_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    labels
}

/// Wraps DER in PEM armour with 64-character lines and a final newline.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_encode(&data);
            assert_eq!(base64_decode(&text).unwrap(), data, "len {len}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert!(base64_decode("Zm8=Zm8=").is_none());
        assert!(base64_decode("Zm9v!").is_none());
        assert!(base64_decode("Zm9").is_none());
        assert_eq!(base64_decode("Zm9v\nYmFy").unwrap(), b"foobar");
    }

    #[test]
    fn oids_and_integers() {
        assert_eq!(oid_to_string(&[0x55, 0x1d, 0x0e]).unwrap(), "2.5.29.14");
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]).unwrap(),
            "1.2.840.113549.1.1.11"
        );
        assert!(oid_to_string(&[0x2a, 0x86]).is_err());
        assert_eq!(integer_magnitude(&[0x00, 0x80]), (vec![0x80], false));
        assert_eq!(integer_magnitude(&[0xff]), (vec![0x01], true));
        assert_eq!(integer_magnitude(&[0xff, 0x00]), (vec![0x01, 0x00], true));
        assert_eq!(integer_magnitude(&[0x00]), (vec![], false));
    }

    #[test]
    fn reader_walks_and_rejects_truncation() {
        let data = [0x30, 0x03, 0x02, 0x01, 0x05, 0x04, 0x00];
        let mut r = Reader::new(&data);
        let seq = r.expect(TAG_SEQUENCE).unwrap();
        assert_eq!(seq.raw.len(), 5);
        let int = seq.reader().expect(TAG_INTEGER).unwrap();
        assert_eq!(int.content, &[5]);
        assert_eq!(r.read().unwrap().tag, TAG_OCTET_STRING);
        r.finish().unwrap();
        assert!(Reader::new(&[0x30, 0x05, 0x02]).read().is_err());
        assert!(Reader::new(&[0x30, 0x80]).read().is_err());
    }

    #[test]
    fn pem_blocks_and_labels() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].body, "AAAA");
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
        let labels = begin_labels(b"\xff\xfe-----BEGIN RSA PRIVATE KEY-----\nxx");
        assert_eq!(labels, vec!["RSA PRIVATE KEY".to_string()]);
    }
}
