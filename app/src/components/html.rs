//! Rows written as HTML text, for the tables whose rows are many and
//! drawn often (the HSMs page's 50 configurations): a row of view nodes
//! costs tens of allocations per element on the server (the components'
//! types are erased, see `.cargo/config.toml`), a row of text one string.
//! Every value goes through [`Html::text`], which escapes it.

use std::fmt::Write;

/// An HTML fragment being written.
#[derive(Debug, Default)]
pub struct Html(String);

impl Html {
    pub fn with_capacity(n: usize) -> Html {
        Html(String::with_capacity(n))
    }

    /// Markup written as it is: only string literals of the caller's
    /// (never a value).
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// `value` as text, in an element or in a double-quoted attribute:
    /// `& < > " '` escaped.
    pub fn text(&mut self, value: impl std::fmt::Display) -> &mut Html {
        let _ = write!(Escaped(&mut self.0), "{value}");
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Writes what it is given escaped.
struct Escaped<'a>(&'a mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            self.0.push_str(&rest[..i]);
            self.0.push_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            });
            rest = &rest[i + 1..];
        }
        self.0.push_str(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_markup_is_not() {
        let mut h = Html::default();
        h.raw("<td title=\"")
            .text("a\"b' onmouseover=x")
            .raw("\">")
            .text("<script>alert(1)</script> & é")
            .raw("</td>");
        assert_eq!(
            h.into_string(),
            "<td title=\"a&quot;b&#39; onmouseover=x\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; é</td>"
        );
    }

    #[test]
    fn displayed_values_are_escaped_too() {
        let mut h = Html::default();
        h.text(format_args!("{}<{}", 1, "&"));
        assert_eq!(h.into_string(), "1&lt;&amp;");
    }
}
