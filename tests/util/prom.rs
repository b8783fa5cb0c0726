//! A strict parser of the Prometheus text exposition format (0.0.4), for checking what
//! the metrics route serves: every rule of the format, and the conventions a scraper
//! relies on, are enforced, so a malformed line fails the test that scraped it.

use std::collections::{BTreeMap, BTreeSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// One metric family: its TYPE, HELP and samples.
#[derive(Debug, Clone, Default)]
pub struct Family {
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    pub families: BTreeMap<String, Family>,
}

impl Exposition {
    /// The value of the sample `name` with exactly `labels` (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.families
            .values()
            .flat_map(|f| &f.samples)
            .find(|s| {
                let mut have = s.labels.clone();
                have.sort();
                s.name == name && have == want
            })
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
            .value
    }

    /// The value of the label-less sample `name`.
    pub fn scalar(&self, name: &str) -> f64 {
        self.value(name, &[])
    }
}

/// Label pairs, in the order written.
type Labels = Vec<(String, String)>;

const TYPES: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

/// Parses `text`, or says which line breaks which rule.
pub fn parse(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition does not end with a line feed".into());
    }
    let mut exposition = Exposition::default();
    // Families whose samples are done: a family's samples must be contiguous.
    let mut closed: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series: BTreeSet<String> = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap_or("");
            if keyword != "HELP" && keyword != "TYPE" {
                continue; // a comment
            }
            let name = parts.next().ok_or_else(|| at("no metric name".into()))?;
            check_metric_name(name).map_err(&at)?;
            let arg = parts.next().unwrap_or("");
            if closed.contains(name) {
                return Err(at(format!("{keyword} for {name} after its samples ended")));
            }
            let family = exposition.families.entry(name.to_owned()).or_default();
            if keyword == "HELP" {
                if !family.help.is_empty() {
                    return Err(at("a second HELP".into()));
                }
                family.help = unescape(arg, false).map_err(&at)?;
                if family.help.is_empty() {
                    return Err(at("an empty HELP".into()));
                }
            } else {
                if !family.kind.is_empty() {
                    return Err(at("a second TYPE".into()));
                }
                if !family.samples.is_empty() {
                    return Err(at("TYPE after the family's first sample".into()));
                }
                if !TYPES.contains(&arg) {
                    return Err(at(format!("unknown type {arg:?}")));
                }
                family.kind = arg.to_owned();
            }
            switch_to(&mut current, &mut closed, name);
            continue;
        }
        let sample = parse_sample(line).map_err(&at)?;
        let family_name = family_of(&exposition, &sample.name);
        let family = exposition
            .families
            .get_mut(&family_name)
            .ok_or_else(|| at(format!("{} has no TYPE", sample.name)))?;
        if family.kind.is_empty() {
            return Err(at(format!("{} has no TYPE", sample.name)));
        }
        if closed.contains(&family_name) {
            return Err(at(format!("{family_name}'s samples are not contiguous")));
        }
        switch_to(&mut current, &mut closed, &family_name);
        let mut labels = sample.labels.clone();
        labels.sort();
        if !series.insert(format!("{}{labels:?}", sample.name)) {
            return Err(at("a duplicate series".into()));
        }
        match family.kind.as_str() {
            "counter" => {
                if sample.value.is_nan() || sample.value < 0.0 {
                    return Err(at("a counter below zero or NaN".into()));
                }
                if !sample.name.ends_with("_total") {
                    return Err(at("a counter whose name does not end in _total".into()));
                }
            }
            "histogram" => {
                let suffix = &sample.name[family_name.len()..];
                let has_le = sample.labels.iter().any(|(k, _)| k == "le");
                match suffix {
                    "_bucket" if has_le => {}
                    "_bucket" => return Err(at("a bucket without le".into())),
                    "_sum" | "_count" if !has_le => {}
                    _ => return Err(at("not a histogram sample".into())),
                }
            }
            _ => {}
        }
        family.samples.push(sample);
    }
    for (name, family) in &exposition.families {
        if family.help.is_empty() {
            return Err(format!("{name} has no HELP"));
        }
        if family.samples.is_empty() {
            return Err(format!("{name} has no samples"));
        }
        if family.kind == "histogram" {
            check_histogram(name, family)?;
        }
    }
    Ok(exposition)
}

/// Buckets cumulative and in increasing `le`, ending at `+Inf` equal to `_count`.
fn check_histogram(name: &str, family: &Family) -> Result<(), String> {
    let mut last_le = f64::NEG_INFINITY;
    let mut last_count = 0.0;
    let mut inf = None;
    for s in family
        .samples
        .iter()
        .filter(|s| s.name.ends_with("_bucket"))
    {
        let le = &s.labels.iter().find(|(k, _)| k == "le").expect("checked").1;
        let bound = parse_value(le)?;
        if bound <= last_le {
            return Err(format!("{name}: le {le} out of order"));
        }
        if s.value < last_count {
            return Err(format!("{name}: bucket le={le} is not cumulative"));
        }
        last_le = bound;
        last_count = s.value;
        if bound == f64::INFINITY {
            inf = Some(s.value);
        }
    }
    let inf = inf.ok_or_else(|| format!("{name}: no +Inf bucket"))?;
    let count = family
        .samples
        .iter()
        .find(|s| s.name == format!("{name}_count"))
        .ok_or_else(|| format!("{name}: no _count"))?
        .value;
    if !family
        .samples
        .iter()
        .any(|s| s.name == format!("{name}_sum"))
    {
        return Err(format!("{name}: no _sum"));
    }
    if inf != count {
        return Err(format!("{name}: +Inf bucket {inf} is not _count {count}"));
    }
    Ok(())
}

fn switch_to(current: &mut Option<String>, closed: &mut BTreeSet<String>, name: &str) {
    if current.as_deref() != Some(name) {
        if let Some(previous) = current.take() {
            closed.insert(previous);
        }
        *current = Some(name.to_owned());
    }
}

/// The family a sample belongs to: its own name, or a histogram's or summary's name
/// without the suffix.
fn family_of(exposition: &Exposition, sample: &str) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix)
            && exposition
                .families
                .get(base)
                .is_some_and(|f| f.kind == "histogram" || f.kind == "summary")
        {
            return base.to_owned();
        }
    }
    sample.to_owned()
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after)?;
        labels = parsed;
        rest = remaining;
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut parts = rest.split(' ');
    let value = parse_value(parts.next().ok_or("no value")?)?;
    if let Some(timestamp) = parts.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("bad timestamp {timestamp:?}"))?;
    }
    if parts.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Labels after the `{`; returns them and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s.find('=').ok_or("a label without =")?;
        let name = &s[..eq];
        check_label_name(name)?;
        if labels.iter().any(|(k, _)| k == name) {
            return Err(format!("label {name} twice"));
        }
        s = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("a label value without quotes")?;
        // The closing quote is the first one not escaped.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                (false, '\n') => return Err("a raw line feed in a label value".into()),
                _ => {}
            }
        }
        let end = end.ok_or("an unterminated label value")?;
        labels.push((name.to_owned(), unescape(&s[..end], true)?));
        s = &s[end + 1..];
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("labels not separated by commas".into());
        }
    }
}

fn unescape(s: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if s.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => {
            Err(format!("bad value {s:?}"))
        }
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let ok = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !ok {
        return Err(format!("bad metric name {name:?}"));
    }
    Ok(())
}

fn check_label_name(name: &str) -> Result<(), String> {
    let ok = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !ok || name.starts_with("__") {
        return Err(format!("bad label name {name:?}"));
    }
    Ok(())
}

/// The parser refuses what it should: each of these breaks one rule.
pub fn self_check() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n\
                # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n";
    let parsed = parse(good).expect("a valid exposition parses");
    assert_eq!(parsed.value("a_total", &[("x", "1")]), 3.0);
    for (bad, why) in [
        (
            "# HELP a_total A.\n# TYPE a_total counter\na_total 3",
            "no final line feed",
        ),
        ("a_total 3\n", "no TYPE"),
        (
            "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
            "negative counter",
        ),
        (
            "# HELP a A.\n# TYPE a counter\na 1\n",
            "counter without _total",
        ),
        (
            "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",x=\"2\"} 1\n",
            "label twice",
        ),
        (
            "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"\\q\"} 1\n",
            "bad escape",
        ),
        (
            "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n",
            "duplicate",
        ),
        (
            "# HELP a_total A.\n# TYPE a_total gauge2\na_total 1\n",
            "unknown type",
        ),
        (
            "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP k K.\n# TYPE k gauge\nk 1\ng{a=\"b\"} 2\n",
            "not contiguous",
        ),
        (
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "not cumulative",
        ),
        (
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_sum 1\nh_count 1\n",
            "no +Inf",
        ),
        (
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
            "+Inf is not count",
        ),
        ("# HELP g G.\n# TYPE g gauge\ng one\n", "bad value"),
        ("# HELP 9g G.\n# TYPE 9g gauge\n9g 1\n", "bad name"),
        ("# TYPE g gauge\ng 1\n", "no HELP"),
    ] {
        assert!(parse(bad).is_err(), "accepted with {why}: {bad:?}");
    }
}
