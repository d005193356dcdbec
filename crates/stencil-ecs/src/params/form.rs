//! `application/x-www-form-urlencoded` decoding, strict about UTF-8.
//!
//! `form_urlencoded::parse` replaces invalid UTF-8 with U+FFFD, which would make a request
//! that no client can have signed look valid; here it is an `InvalidParameter` error instead.
//! Everything else follows Python's `parse_qsl(keep_blank_values=True)`, which the reference
//! verifier uses: `&` separates pairs, empty pairs are skipped, the first `=` splits name and
//! value (no `=` means an empty value), `+` is a space, and malformed `%` escapes stay literal.

use crate::error::EcsError;
use percent_encoding::percent_decode;

/// Decodes a query string or form body into (name, value) pairs, in order.
pub fn decode_form(input: &[u8]) -> Result<Vec<(String, String)>, EcsError> {
    let mut pairs = Vec::new();
    for pair in input.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode_component(name).map_err(|_| {
            EcsError::invalid(
                &String::from_utf8_lossy(name),
                "the parameter name is not valid UTF-8 after percent-decoding",
            )
        })?;
        let value = decode_component(value).map_err(|_| {
            EcsError::invalid(&name, "the value is not valid UTF-8 after percent-decoding")
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn decode_component(raw: &[u8]) -> Result<String, std::string::FromUtf8Error> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_decode(&plus_as_space).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn pairs(input: &str) -> Vec<(String, String)> {
        decode_form(input.as_bytes()).unwrap()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plus_is_a_space_and_percent_escapes_decode() {
        assert_eq!(
            pairs("ImageName=my+image~x&Status=Available%2CCreating"),
            owned(&[
                ("ImageName", "my image~x"),
                ("Status", "Available,Creating")
            ])
        );
    }

    #[test]
    fn python_and_node_encodings_of_special_characters_decode_to_the_same_value() {
        let node = pairs("ImageName=%E5%90%8D%E5%AD%97%20x%2By%2Fz!%27()*");
        let python = pairs("ImageName=%E5%90%8D%E5%AD%97+x%2By%2Fz%21%27%28%29%2A");
        assert_eq!(node, python);
        assert_eq!(node[0].1, "名字 x+y/z!'()*");
    }

    #[test]
    fn blank_values_are_kept_and_empty_pairs_skipped() {
        assert_eq!(
            pairs("&SignatureType=&Tag.1.Value&&A=b=c&"),
            owned(&[("SignatureType", ""), ("Tag.1.Value", ""), ("A", "b=c")])
        );
    }

    #[test]
    fn malformed_escapes_stay_literal() {
        assert_eq!(
            pairs("A=100%&B=%zz%4"),
            owned(&[("A", "100%"), ("B", "%zz%4")])
        );
    }

    #[test]
    fn invalid_utf8_is_an_invalid_parameter_error_naming_the_key() {
        let err = decode_form(b"RegionId=cn&ImageName=%FF%FE").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameter);
        assert!(err.message().contains("\"ImageName\""), "{}", err.message());
        let err = decode_form(b"Bad%C3=1").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameter);
        let err = decode_form(&[b'A', b'=', 0xFF]).unwrap_err();
        assert!(err.message().contains("\"A\""));
    }
}
