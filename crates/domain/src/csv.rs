//! Enough CSV for the files operators exchange with us (RFC 4180: commas, quoted fields with
//! doubled quotes, CRLF or LF): contact and consent imports, Meta's rate cards, forecast
//! volumes. A crate would add compile time for forty lines.

/// Parses `text` into rows of fields. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
                any = false;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    // Blank lines carry nothing.
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

/// One field for writing: quoted when it needs to be.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A header row's column positions, by case-insensitive name.
pub struct Header(Vec<String>);

impl Header {
    pub fn new(row: &[String]) -> Self {
        Header(row.iter().map(|h| h.trim().to_ascii_lowercase()).collect())
    }
    pub fn index(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == &name.to_ascii_lowercase())
    }
    /// The named field of `row`, trimmed; `None` when the column is absent or the cell empty.
    pub fn get<'a>(&self, row: &'a [String], name: &str) -> Option<&'a str> {
        self.index(name)
            .and_then(|i| row.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_crlf_and_blank_lines() {
        let rows = parse("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",3\n\n\"multi\nline\",,\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a", "b", "c"],
                vec!["x, y", "say \"hi\"", "3"],
                vec!["multi\nline", "", ""]
            ]
        );
        assert!(parse("a,\"b").unwrap_err().contains("line 1"));
        assert!(parse("ok\nba\"d\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn fields_round_trip() {
        for s in ["plain", "a,b", "quote \"x\"", "line\nbreak"] {
            let line = format!("{},end", field(s));
            assert_eq!(parse(&line).unwrap()[0][0], s);
        }
    }
}
