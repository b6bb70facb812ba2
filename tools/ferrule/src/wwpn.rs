//! WWPN and initiator-pattern syntax shared by the config file, configfs and the importers.

/// Initiators one local target may present (the kernel's limit).
pub const MAX_LOCAL_INITIATORS: usize = 8;

/// A local target's `initiator` value: 1..=8 distinct WWPNs separated by spaces or commas,
/// canonicalised (lowercase, colons) and joined by single spaces, as the kernel shows it.
pub fn parse_wwpn_list(input: &str) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    for w in input
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
    {
        let c = parse_wwpn(w)?;
        if out.contains(&c) {
            return Err(format!("{c} is listed twice"));
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err("no WWPN given".into());
    }
    if out.len() > MAX_LOCAL_INITIATORS {
        return Err(format!("at most {MAX_LOCAL_INITIATORS} initiators"));
    }
    Ok(out.join(" "))
}

/// Parses a WWPN in any accepted form ("21:00:00:24:ff:31:4c:5a", "21000024ff314c5a",
/// "0x21000024FF314C5A", targetcli's "naa.21000024ff314c5a") and returns the canonical
/// lowercase colon form. The error names the offending character.
pub fn parse_wwpn(input: &str) -> Result<String, String> {
    let body = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
        .or_else(|| input.strip_prefix("naa."))
        .unwrap_or(input);
    let offset = input.len() - body.len();
    let mut digits = String::with_capacity(16);
    let colons = body.contains(':');
    for (i, c) in body.char_indices() {
        if c == ':' {
            continue;
        }
        if !c.is_ascii_hexdigit() {
            return Err(format!(
                "bad WWPN {input:?}: {c:?} at position {} is not a hex digit",
                offset + i + 1
            ));
        }
        digits.push(c.to_ascii_lowercase());
    }
    if digits.len() != 16 {
        return Err(format!(
            "bad WWPN {input:?}: {} hex digits, a WWPN has 16",
            digits.len()
        ));
    }
    if colons {
        let groups: Vec<&str> = body.split(':').collect();
        if groups.len() != 8 || groups.iter().any(|g| g.len() != 2) {
            return Err(format!(
                "bad WWPN {input:?}: colon form needs 8 groups of 2 hex digits"
            ));
        }
    }
    Ok(canonical(&digits))
}

fn canonical(hex: &str) -> String {
    let mut out = String::with_capacity(hex.len() + hex.len() / 2);
    for (i, c) in hex.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(':');
        }
        out.push(c);
    }
    out
}

/// Parses an initiator group member: a WWPN, a prefix pattern ("21:00:00:24:ff:*") or "*".
/// Returns the canonical form.
pub fn parse_initiator(input: &str) -> Result<String, String> {
    if input == "*" {
        return Ok("*".into());
    }
    if let Some(prefix) = input.strip_suffix(":*") {
        if prefix.contains('*') {
            return Err(format!(
                "bad initiator pattern {input:?}: '*' is only allowed as the last group"
            ));
        }
        let groups: Vec<&str> = prefix.split(':').collect();
        if groups.len() >= 8 {
            return Err(format!(
                "bad initiator pattern {input:?}: a pattern has at most 7 byte groups before '*'"
            ));
        }
        for (gi, g) in groups.iter().enumerate() {
            if g.len() != 2 {
                return Err(format!(
                    "bad initiator pattern {input:?}: group {} must be 2 hex digits",
                    gi + 1
                ));
            }
            if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
                return Err(format!(
                    "bad initiator pattern {input:?}: {c:?} is not a hex digit"
                ));
            }
        }
        return Ok(format!("{}:*", prefix.to_ascii_lowercase()));
    }
    if input.contains('*') {
        return Err(format!(
            "bad initiator pattern {input:?}: use whole byte groups then '*', e.g. \"21:00:00:24:ff:*\""
        ));
    }
    parse_wwpn(input)
}

/// True if `name` is a valid device or group name: `[A-Za-z0-9_.:-]{1,32}`.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is empty".into());
    }
    if name.len() > 32 {
        return Err(format!(
            "name {name:?} is {} characters, at most 32",
            name.len()
        ));
    }
    if let Some((i, c)) = name
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "name {name:?}: {c:?} at position {} is not allowed (use A-Z a-z 0-9 _ . : -)",
            i + 1
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("name {name:?} is reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wwpn_lists() {
        assert_eq!(
            super::parse_wwpn_list("2100000000000001, 21:00:00:00:00:00:00:02").unwrap(),
            "21:00:00:00:00:00:00:01 21:00:00:00:00:00:00:02"
        );
        assert!(
            super::parse_wwpn_list("21:00:00:00:00:00:00:01 2100000000000001")
                .unwrap_err()
                .contains("twice")
        );
        assert!(super::parse_wwpn_list("").is_err());
        let nine: Vec<String> = (1..=9)
            .map(|i| format!("21:00:00:00:00:00:00:0{i}"))
            .collect();
        assert!(super::parse_wwpn_list(&nine.join(" ")).is_err());
    }
    use super::*;

    #[test]
    fn wwpn_forms() {
        for (input, want) in [
            ("21:00:00:24:ff:31:4c:5a", "21:00:00:24:ff:31:4c:5a"),
            ("21000024FF314C5A", "21:00:00:24:ff:31:4c:5a"),
            ("0x21000024ff314c5a", "21:00:00:24:ff:31:4c:5a"),
            ("naa.21000024ff314c5a", "21:00:00:24:ff:31:4c:5a"),
        ] {
            assert_eq!(parse_wwpn(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn wwpn_errors_name_the_char() {
        let e = parse_wwpn("21:00:00:24:fg:31:4c:5a").unwrap_err();
        assert!(e.contains("'g' at position 14"), "{e}");
        let e = parse_wwpn("21:00:00:24:ff:31:4c").unwrap_err();
        assert!(e.contains("14 hex digits"), "{e}");
        let e = parse_wwpn("2100:0024:ff31:4c5a").unwrap_err();
        assert!(e.contains("8 groups"), "{e}");
    }

    #[test]
    fn patterns() {
        assert_eq!(parse_initiator("*").as_deref(), Ok("*"));
        assert_eq!(
            parse_initiator("21:00:00:24:FF:*").as_deref(),
            Ok("21:00:00:24:ff:*")
        );
        assert!(parse_initiator("21:00:0*").is_err());
        assert!(parse_initiator("21:*:00:*").is_err());
        assert!(parse_initiator("21:00:00:24:ff:31:4c:5a:*").is_err());
        assert!(parse_initiator("zz:*").unwrap_err().contains("'z'"));
    }

    #[test]
    fn names() {
        assert!(valid_name("disk_1.a:b-c").is_ok());
        assert!(valid_name("").is_err());
        assert!(valid_name(&"a".repeat(33)).is_err());
        assert!(valid_name("a/b").unwrap_err().contains("'/' at position 2"));
        assert!(valid_name("..").is_err());
    }
}
