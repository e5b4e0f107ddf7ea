//! A small CSV reader for numeric tables, with errors that name the file, line and column.
//!
//! Comma-separated, one header row, `.` decimal point; fields may be quoted with `"`;
//! an empty field (or `NA`, `NaN`) is a missing value.

use super::error::{CliError, CliResult};

/// A parsed table: header and rows of raw fields, with their line numbers.
#[derive(Clone, Debug)]
pub struct Table {
    /// Name of the file (for messages).
    pub file: String,
    /// Column names.
    pub header: Vec<String>,
    /// 1-based line number of the header.
    pub header_line: usize,
    /// Rows of fields.
    pub rows: Vec<Vec<String>>,
    /// 1-based line number of each row.
    pub lines: Vec<usize>,
}

fn split_line(line: &str) -> Result<Vec<String>, usize> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) => {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            (',', false) => out.push(std::mem::take(&mut field)),
            (_, _) => {
                if c == '"' {
                    return Err(i + 1);
                }
                field.push(c);
            }
        }
    }
    if quoted {
        return Err(line.chars().count());
    }
    out.push(field);
    Ok(out.into_iter().map(|f| f.trim().to_string()).collect())
}

/// Parses CSV text.
pub fn parse(file: &str, text: &str) -> CliResult<Table> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hl, header_line)) = lines.next() else {
        return Err(CliError::input(
            file,
            None,
            None,
            "the file is empty (expected a header row)",
        ));
    };
    let header = split_line(header_line.trim_start_matches('\u{feff}')).map_err(|c| {
        CliError::input(
            file,
            Some(hl + 1),
            Some(c),
            "unbalanced quote in the header",
        )
    })?;
    let mut rows = Vec::new();
    let mut line_nos = Vec::new();
    for (i, l) in lines {
        let fields = split_line(l)
            .map_err(|c| CliError::input(file, Some(i + 1), Some(c), "unbalanced quote"))?;
        if fields.len() != header.len() {
            return Err(CliError::input(
                file,
                Some(i + 1),
                None,
                format!(
                    "{} fields, but the header has {} columns",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        rows.push(fields);
        line_nos.push(i + 1);
    }
    Ok(Table {
        file: file.to_string(),
        header,
        header_line: hl + 1,
        rows,
        lines: line_nos,
    })
}

impl Table {
    /// Index of a column, or an error listing the columns there are.
    pub fn column(&self, name: &str) -> CliResult<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            CliError::input(
                &self.file,
                Some(self.header_line),
                None,
                format!(
                    "no column named '{name}' (the columns are: {})",
                    self.header.join(", ")
                ),
            )
        })
    }

    /// A numeric column; missing values (empty, `NA`, `NaN`) become NaN when allowed.
    pub fn numeric(&self, col: usize, allow_missing: bool) -> CliResult<Vec<f64>> {
        let name = &self.header[col];
        self.rows
            .iter()
            .zip(&self.lines)
            .map(|(r, &line)| {
                let s = r[col].as_str();
                if s.is_empty() || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("nan") {
                    return if allow_missing {
                        Ok(f64::NAN)
                    } else {
                        Err(CliError::input(
                            &self.file,
                            Some(line),
                            Some(col + 1),
                            format!("column '{name}' is missing a value (it may not have gaps)"),
                        ))
                    };
                }
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(CliError::input(
                        &self.file,
                        Some(line),
                        Some(col + 1),
                        format!("column '{name}': '{s}' is not a number"),
                    )),
                }
            })
            .collect()
    }

    /// A text column.
    pub fn text(&self, col: usize) -> Vec<&str> {
        self.rows.iter().map(|r| r[col].as_str()).collect()
    }
}

/// Checks that every non-missing value of column `col` lies in `[lo, hi]` (a plausible
/// range: values far outside it are a unit mistake or a corrupt file, and would overflow
/// the model); the error names the first offending line and column.
pub fn check_range(
    table: &Table,
    col: usize,
    values: &[f64],
    (lo, hi): (f64, f64),
    what: &str,
) -> CliResult<()> {
    for (i, v) in values.iter().enumerate() {
        if !v.is_nan() && !(lo..=hi).contains(v) {
            return Err(CliError::input(
                &table.file,
                Some(table.lines[i]),
                Some(col + 1),
                format!(
                    "column '{}': {v:e} is not a plausible {what} (expected between {lo} and {hi})",
                    table.header[col]
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that times strictly increase; the error names the offending line.
pub fn check_increasing(table: &Table, col: usize, times: &[f64], rows: &[usize]) -> CliResult<()> {
    for w in 1..times.len() {
        if times[w] <= times[w - 1] {
            return Err(CliError::input(
                &table.file,
                Some(table.lines[rows[w]]),
                Some(col + 1),
                format!(
                    "times must increase: {} follows {} in column '{}'",
                    times[w],
                    times[w - 1],
                    table.header[col]
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_and_missing_values() {
        let t = parse("x.csv", "a,\"b, c\"\n1,\"2\"\n3,\n").unwrap();
        assert_eq!(t.header, vec!["a", "b, c"]);
        assert_eq!(t.numeric(1, true).unwrap()[0], 2.0);
        assert!(t.numeric(1, true).unwrap()[1].is_nan());
        let e = t.numeric(1, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.csv:3:2: column 'b, c' is missing a value (it may not have gaps)"
        );
    }

    #[test]
    fn names_file_line_and_column() {
        let t = parse("x.csv", "year,v\n1,2\n2,abc\n").unwrap();
        assert_eq!(
            t.numeric(1, true).unwrap_err().to_string(),
            "x.csv:3:2: column 'v': 'abc' is not a number"
        );
        assert!(
            t.column("w")
                .unwrap_err()
                .to_string()
                .contains("the columns are: year, v")
        );
        assert!(
            parse("x.csv", "a,b\n1\n")
                .unwrap_err()
                .to_string()
                .starts_with("x.csv:2: 1 fields")
        );
        assert!(parse("x.csv", "").is_err());
    }
}
