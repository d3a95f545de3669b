//! The `Content-Encoding` of an HTML page: which one it is, and the page decoded and encoded
//! again in it (feature `compressed-html`).

use actix_web::http::header::{self, HeaderMap};

/// A content coding the toolbar can decode and produce again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` or `x-gzip`.
    Gzip,
    /// `deflate`: a zlib stream, as RFC 9110 says, or raw DEFLATE, as some servers send.
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`.
    Zstd,
}

/// What a response's `Content-Encoding` says about its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyCoding {
    /// No encoding, or only `identity`.
    Identity,
    /// One coding the toolbar reads.
    Coded(Coding),
    /// Several codings, or one the toolbar does not read.
    Unsupported,
}

/// The coding named by the response's `Content-Encoding` header(s).
pub(crate) fn body_coding(headers: &HeaderMap) -> BodyCoding {
    let mut found = BodyCoding::Identity;
    let names = headers
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|name| !name.is_empty() && !name.eq_ignore_ascii_case(b"identity"));
    for name in names {
        if found != BodyCoding::Identity {
            return BodyCoding::Unsupported;
        }
        found = match Coding::from_name(name) {
            Some(coding) if cfg!(feature = "compressed-html") => BodyCoding::Coded(coding),
            _ => BodyCoding::Unsupported,
        };
    }
    found
}

impl Coding {
    fn from_name(name: &[u8]) -> Option<Self> {
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        if is("gzip") || is("x-gzip") {
            Some(Coding::Gzip)
        } else if is("deflate") {
            Some(Coding::Deflate)
        } else if is("br") {
            Some(Coding::Brotli)
        } else if is("zstd") {
            Some(Coding::Zstd)
        } else {
            None
        }
    }

    /// The name used in keys and messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Why a coded body could not be turned into a page.
// Without feature `compressed-html` nothing is ever decoded.
#[cfg_attr(not(feature = "compressed-html"), allow(dead_code))]
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The decoded page is larger than the limit.
    TooLarge,
    /// The body is not valid in its coding.
    Invalid(std::io::Error),
}

/// A decoded page and how to encode it again in the same form.
// Without feature `compressed-html` nothing is ever decoded.
#[cfg_attr(not(feature = "compressed-html"), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The page.
    pub(crate) page: Vec<u8>,
    form: Form,
}

/// The exact form of a coding, so that the page goes back out the way it came.
// Without feature `compressed-html` nothing is ever decoded.
#[cfg_attr(not(feature = "compressed-html"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
enum Form {
    Gzip,
    Zlib,
    RawDeflate,
    Brotli,
    Zstd,
}

#[cfg(feature = "compressed-html")]
mod codec {
    use std::io::{self, Read, Write};

    use super::{Coding, DecodeError, Decoded, Form};

    /// Decodes `body`, reading at most `limit` bytes of page.
    pub(crate) fn decode(
        coding: Coding,
        body: &[u8],
        limit: usize,
    ) -> Result<Decoded, DecodeError> {
        let form = match coding {
            Coding::Gzip => Form::Gzip,
            Coding::Deflate if is_zlib(body) => Form::Zlib,
            Coding::Deflate => Form::RawDeflate,
            Coding::Brotli => Form::Brotli,
            Coding::Zstd => Form::Zstd,
        };
        let reader: Box<dyn Read + '_> = match form {
            Form::Gzip => Box::new(flate2::read::MultiGzDecoder::new(body)),
            Form::Zlib => Box::new(flate2::read::ZlibDecoder::new(body)),
            Form::RawDeflate => Box::new(flate2::read::DeflateDecoder::new(body)),
            Form::Brotli => Box::new(brotli::Decompressor::new(body, 4096)),
            Form::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(body).map_err(DecodeError::Invalid)?)
            }
        };
        let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        let mut page = Vec::new();
        reader
            .take(bound)
            .read_to_end(&mut page)
            .map_err(DecodeError::Invalid)?;
        if page.len() > limit {
            return Err(DecodeError::TooLarge);
        }
        Ok(Decoded { page, form })
    }

    /// A zlib header: deflate method, a window of at most 32 KiB and a valid check value.
    fn is_zlib(body: &[u8]) -> bool {
        match body {
            [cmf, flg, ..] => {
                cmf & 0x0f == 8
                    && cmf >> 4 <= 7
                    && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
            }
            _ => false,
        }
    }

    /// `page` encoded the way the decoded body was, at the fast settings actix-web's
    /// `Compress` uses.
    pub(crate) fn encode(decoded: &Decoded, page: &[u8]) -> io::Result<Vec<u8>> {
        let fast = flate2::Compression::fast();
        let out = Vec::with_capacity(page.len() / 4);
        match decoded.form {
            Form::Gzip => {
                let mut w = flate2::write::GzEncoder::new(out, fast);
                w.write_all(page)?;
                w.finish()
            }
            Form::Zlib => {
                let mut w = flate2::write::ZlibEncoder::new(out, fast);
                w.write_all(page)?;
                w.finish()
            }
            Form::RawDeflate => {
                let mut w = flate2::write::DeflateEncoder::new(out, fast);
                w.write_all(page)?;
                w.finish()
            }
            Form::Brotli => {
                let mut w = brotli::CompressorWriter::new(out, 32 * 1024, 3, 22);
                w.write_all(page)?;
                w.flush()?;
                Ok(w.into_inner())
            }
            Form::Zstd => zstd::stream::encode_all(page, 3),
        }
    }
}

#[cfg(not(feature = "compressed-html"))]
mod codec {
    use std::io;

    use super::{Coding, DecodeError, Decoded};

    // `body_coding` never answers `Coded` without the feature; these are never called.
    pub(crate) fn decode(_: Coding, _: &[u8], _: usize) -> Result<Decoded, DecodeError> {
        Err(DecodeError::Invalid(io::ErrorKind::Unsupported.into()))
    }

    pub(crate) fn encode(_: &Decoded, _: &[u8]) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

pub(crate) use codec::{decode, encode};

#[cfg(all(test, feature = "compressed-html"))]
mod tests {

    use super::*;
    use actix_web::http::header::HeaderValue;

    fn coding_of(values: &[&'static str]) -> BodyCoding {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::CONTENT_ENCODING, HeaderValue::from_static(v));
        }
        body_coding(&headers)
    }

    #[test]
    fn reads_one_known_coding_and_refuses_stacks_and_strangers() {
        assert_eq!(coding_of(&[]), BodyCoding::Identity);
        assert_eq!(coding_of(&["identity"]), BodyCoding::Identity);
        assert_eq!(coding_of(&["X-Gzip"]), BodyCoding::Coded(Coding::Gzip));
        assert_eq!(coding_of(&[" br "]), BodyCoding::Coded(Coding::Brotli));
        assert_eq!(coding_of(&["gzip, br"]), BodyCoding::Unsupported);
        assert_eq!(coding_of(&["gzip", "zstd"]), BodyCoding::Unsupported);
        assert_eq!(coding_of(&["compress"]), BodyCoding::Unsupported);
    }

    #[test]
    fn every_form_round_trips_and_keeps_its_form() {
        let page = b"<html><body>hello</body></html>".repeat(50);
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let first = Decoded {
                page: Vec::new(),
                form: match coding {
                    Coding::Gzip => Form::Gzip,
                    Coding::Deflate => Form::RawDeflate,
                    Coding::Brotli => Form::Brotli,
                    Coding::Zstd => Form::Zstd,
                },
            };
            let body = encode(&first, &page).unwrap();
            let decoded = decode(coding, &body, page.len()).unwrap();
            assert_eq!(decoded.page, page, "{coding:?}");
            assert_eq!(
                encode(&decoded, &page).unwrap(),
                body,
                "{coding:?}: same form"
            );
            assert!(matches!(
                decode(coding, &body, page.len() - 1),
                Err(DecodeError::TooLarge)
            ));
        }
    }

    #[test]
    fn tells_zlib_from_raw_deflate() {
        let page = b"<body>x</body>";
        let zlib = encode(
            &Decoded {
                page: Vec::new(),
                form: Form::Zlib,
            },
            page,
        )
        .unwrap();
        assert!(codec_is_zlib(&zlib));
        let raw = encode(
            &Decoded {
                page: Vec::new(),
                form: Form::RawDeflate,
            },
            page,
        )
        .unwrap();
        assert!(!codec_is_zlib(&raw));
        assert_eq!(decode(Coding::Deflate, &zlib, 100).unwrap().page, page);
        assert_eq!(decode(Coding::Deflate, &raw, 100).unwrap().page, page);
    }

    fn codec_is_zlib(body: &[u8]) -> bool {
        matches!(
            decode(Coding::Deflate, body, 100),
            Ok(Decoded {
                form: Form::Zlib,
                ..
            })
        )
    }

    #[test]
    fn garbage_is_invalid() {
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            assert!(
                matches!(
                    decode(coding, b"\x1f\x8b\x08\x00fake</body>", 100),
                    Err(DecodeError::Invalid(_))
                ),
                "{coding:?}"
            );
        }
    }
}
