//! `log`: format, level (an `EnvFilter` directive, checked now) and the access log switch.

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawLog;
use crate::config::{LogConfig, LogFormat};

impl Validator {
    pub(super) fn log(&mut self, map: &Mapping) -> LogConfig {
        let raw: RawLog = self.section(map, "log");
        let log = LogConfig {
            format: match raw.format.as_deref() {
                None => defaults::LOG_FORMAT,
                Some("json") => LogFormat::Json,
                Some("text") => LogFormat::Text,
                Some(_) => {
                    self.problem("log.format", "must be json or text");
                    LogFormat::Json
                }
            },
            level: raw.level.unwrap_or_else(|| defaults::LOG_LEVEL.to_owned()),
            access_log: raw.access_log.unwrap_or(defaults::LOG_ACCESS_LOG),
        };
        if tracing_subscriber::EnvFilter::try_new(&log.level).is_err() {
            self.problem(
                "log.level",
                "not a valid level or filter (e.g. info, debug)",
            );
        }
        log
    }
}
