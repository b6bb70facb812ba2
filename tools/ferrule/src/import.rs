//! Importers from other Linux SCSI targets' saved configurations.

pub mod scst;
pub mod targetcli;

use crate::model::Config;
use crate::parse::parse_config;

/// An imported configuration and what could not be carried over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// The Ferrule configuration.
    pub config: Config,
    /// One line per setting that was dropped or needs a decision ("line 12: nv_cache 1 ...").
    pub notes: Vec<String>,
}

impl Imported {
    /// Ferrule TOML with the notes as a comment block at the top. If the result would not
    /// pass `ferrule check` (e.g. a LUN maps a device that was not imported), the problems
    /// are listed in the header too.
    pub fn render(&self, source: &str) -> String {
        let body = self.config.to_toml();
        let mut out = format!("# Imported from {source} by `ferrule import`.\n");
        if !self.notes.is_empty() {
            out.push_str("#\n# Not carried over:\n");
            for n in &self.notes {
                out.push_str(&format!("#   - {n}\n"));
            }
        }
        if let Err(diags) = parse_config(&body) {
            out.push_str("#\n# Fix before `ferrule apply` (ferrule check will report these):\n");
            for d in diags {
                out.push_str(&format!("#   - {}\n", d.message));
            }
        }
        out.push('\n');
        out.push_str(&body);
        out
    }
}
