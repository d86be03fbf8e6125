//! The application layer of amtsweg: every use case, by who acts. It knows nothing of HTTP; the
//! web crate, the binary, the tests and the benchmarks all come through here.
//!
//! A [`Platform`] holds what the use cases run on (the store, the ledger's key, the registers,
//! the upload key, the assistant, a language model, the business metrics). A person gets a
//! narrowed handle from it, a *desk*, that can only reach what their role may reach:
//!
//! | who | desk | file |
//! |---|---|---|
//! | citizen | [`CitizenDesk`](citizen::CitizenDesk): applications, evidence, mailbox, transfers | `citizen.rs` |
//! | caseworker, team lead | [`StaffDesk`](staff::StaffDesk), [`LeadDesk`](staff::LeadDesk): inbox, case, decide, questions, memos | `staff.rs` |
//! | data protection officer | [`PrivacyDesk`](oversight::PrivacyDesk) | `oversight.rs` |
//! | service admin | [`AdminDesk`](oversight::AdminDesk) | `oversight.rs` |
//! | platform operator | [`OperatorDesk`](operator::OperatorDesk): authorities, responsibilities, services, staff | `operator.rs` |
//! | specialist procedure | [`ProcedureDesk`](procedures::ProcedureDesk) | `procedures.rs` |
//! | anyone | [`Platform::catalog`], [`Platform::ask`] (the assistant), the ledger's proofs | `catalog.rs`, `assistant.rs`, `ledger.rs` |
//!
//! A use case is complete: submitting runs the rules and, where the law allows, decides and
//! delivers the Bescheid (`casework.rs`); deciding issues the Bescheid. Background work
//! (delivery of Bescheide a stopped process left, ledger checkpoints, retention) runs as jobs
//! (`jobs/`).

pub mod accounts;
pub mod assistant;
pub mod bescheid;
pub mod casework;
pub mod catalog;
pub mod citizen;
pub mod error;
pub mod evidence;
pub mod jobs;
pub mod ledger;
pub mod mail;
pub mod memo;
pub mod metrics;
pub mod operator;
pub mod oversight;
pub mod procedures;
pub mod reports;
pub mod retention;
pub mod security;
pub mod staff;
pub mod uploads;

pub use amtsweg_assist::model;

/// Longest free text accepted from a person in one field: a decision's reason, a question to
/// the citizen, an answer.
pub const MAX_TEXT_CHARS: usize = 5000;
pub use error::AppError;

use amtsweg_domain::{AssuranceLevel, User};
use amtsweg_store::DynStore;
use std::path::PathBuf;
use std::sync::Arc;

/// Today's date in Germany, as the rules and the forms see it.
pub fn today() -> time::Date {
    amtsweg_domain::local_time::today()
}

/// What the use cases run on. Cheap to clone: one shared reference (a request clones it a few
/// times, through the web state and each desk).
#[derive(Clone)]
pub struct Platform(Arc<Parts>);

impl std::ops::Deref for Platform {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// The parts of the [`Platform`], each shared.
#[derive(Clone)]
pub struct Parts {
    pub store: DynStore,
    pub metrics: Arc<metrics::Metrics>,
    /// The connection to the registers, when configured.
    pub exchange: Option<Arc<evidence::Exchange>>,
    /// The key uploaded documents are encrypted with.
    pub upload_key: Arc<uploads::UploadKey>,
    /// The ledger's signing key and the checkpoints shared between requests.
    pub ledger: Arc<ledger::Signer>,
    /// A self-hosted language model, only when the admin configured one.
    pub model: Option<Arc<model::ModelClient>>,
    /// The citizen assistant and its knowledge base.
    pub assistant: assistant::AssistantState,
    /// Security events for the SIEM (and the operator's page).
    pub security: Arc<security::SecurityLog>,
    /// How long a closed report of the Mängelmelder keeps its reporter's personal data.
    pub report_retention: time::Duration,
    /// The map of the report pages, when the operator names a tile server of their own.
    pub map_tiles: Option<Arc<reports::tiles::MapTiles>>,
    /// E-mail through the operator's relay, when configured.
    pub mailer: Option<Arc<mail::Mailer>>,
}

impl Platform {
    /// A platform over `store` with the keys given. Nothing is made up here: the binary reads
    /// or (for the demo) makes the keys.
    ///
    /// Where the store commits in batches (SQLite), each batch then integrates its ledger entries
    /// and signs a checkpoint with this key in the same commit, so that a receipt only reads.
    pub fn new(store: DynStore, ledger_key: amtsweg_ledger::LogKey, upload_key: uploads::UploadKey) -> Self {
        let platform = Self::unsigned(store, ledger_key, upload_key);
        let signer = platform.ledger.clone();
        let per_batch = platform.store.sign_ledger_per_batch(Arc::new(move |size, root| signer.key().checkpoint(size, amtsweg_ledger::tree::Hash(root))));
        platform.ledger.set_per_batch(per_batch);
        platform
    }

    /// A platform that leaves the store's batches unsigned (its key is not the platform's).
    fn unsigned(store: DynStore, ledger_key: amtsweg_ledger::LogKey, upload_key: uploads::UploadKey) -> Self {
        let ledger = Arc::new(ledger::Signer::new(ledger_key));
        Self(Arc::new(Parts {
            store,
            metrics: Arc::new(metrics::Metrics::new()),
            exchange: None,
            upload_key: Arc::new(upload_key),
            ledger,
            model: None,
            assistant: assistant::AssistantState::default(),
            security: Arc::new(security::SecurityLog::default()),
            report_retention: time::Duration::days(i64::from(reports::DEFAULT_RETENTION_DAYS)),
            map_tiles: None,
            mailer: None,
        }))
    }

    /// The parts to change while the platform is being set up.
    fn parts(&mut self) -> &mut Parts {
        Arc::make_mut(&mut self.0)
    }

    /// The Mängelmelder's use cases, with photos encrypted by the upload key; `photo_base` is
    /// where photos are served (for `media_url`).
    pub fn reports(&self, photo_base: impl Into<String>) -> reports::Reports {
        let reports = reports::Reports::new(self.store.clone(), photo_base).with_photos(self.upload_key.clone());
        match &self.mailer {
            Some(m) => reports.with_mailer(m.clone()),
            None => reports,
        }
    }

    /// Closed reports keep their reporter's personal data this many days.
    pub fn with_report_retention_days(mut self, days: u32) -> Self {
        self.parts().report_retention = time::Duration::days(i64::from(days));
        self
    }

    /// The report pages show a map from this tile server.
    pub fn with_map_tiles(mut self, tiles: reports::tiles::MapTiles) -> Self {
        self.parts().map_tiles = Some(Arc::new(tiles));
        self
    }

    /// E-mail goes through this relay.
    pub fn with_mailer(mut self, mailer: mail::Mailer) -> Self {
        self.parts().mailer = Some(Arc::new(mailer));
        self
    }

    /// Security events also go to `log`'s sink.
    pub fn with_security_log(mut self, log: security::SecurityLog) -> Self {
        self.parts().security = Arc::new(log);
        self
    }

    /// Records a security event (database and sink); never fails the caller.
    pub async fn record_security(&self, event: security::SecurityEvent) {
        self.security.record(&self.store, event).await;
    }

    /// A platform whose ledger and upload keys live only as long as this process (benchmarks,
    /// tests, the throwaway demo): checkpoints and uploads cannot be read after a restart.
    pub fn ephemeral(store: DynStore) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source");
        let ledger_key = amtsweg_ledger::LogKey::from_seed("amtsweg.invalid/ledger", seed).expect("a valid origin");
        // Consoles and seeds run beside the server on the same database: their throwaway key
        // must never sign the store's checkpoints.
        Self::unsigned(store, ledger_key, uploads::UploadKey::random())
    }

    /// The assistant over a knowledge base (kept in `dir` when given).
    pub fn with_assistant(mut self, assistant: amtsweg_assist::Assistant, dir: Option<PathBuf>) -> Self {
        self.parts().assistant = assistant::AssistantState { assistant: Arc::new(assistant), dir };
        self
    }

    pub fn with_model(mut self, model: model::ModelClient) -> Self {
        self.parts().model = Some(Arc::new(model));
        self
    }

    pub fn with_exchange(mut self, exchange: evidence::Exchange) -> Self {
        self.parts().exchange = Some(Arc::new(exchange));
        self
    }

    /// The citizen's desk; `None` for anyone else (or a citizen without person data).
    pub fn citizen(&self, user: &User, level: Option<AssuranceLevel>) -> Option<citizen::CitizenDesk> {
        citizen::CitizenDesk::new(self.clone(), user, level)
    }

    /// The desk of a caseworker or team lead; `None` for anyone else.
    pub fn staff(&self, user: &User) -> Option<staff::StaffDesk> {
        staff::StaffDesk::new(self.clone(), user)
    }

    /// The data protection officer's desk; `None` for anyone else.
    pub fn privacy(&self, user: &User) -> Option<oversight::PrivacyDesk> {
        oversight::PrivacyDesk::new(self.store.clone(), user)
    }

    /// The service admin's desk; `None` for anyone else.
    pub fn admin(&self, user: &User) -> Option<oversight::AdminDesk> {
        oversight::AdminDesk::new(self.store.clone(), user)
    }

    /// The platform operator's desk; `None` for anyone else.
    pub fn operator(&self, user: &User) -> Option<operator::OperatorDesk> {
        operator::OperatorDesk::new(self.clone(), user)
    }

    /// The public catalog of services.
    pub fn catalog(&self) -> catalog::Catalog {
        catalog::Catalog::new(self.store.clone())
    }

    /// Login, sessions and tokens.
    pub fn accounts(&self) -> accounts::Accounts {
        accounts::Accounts::new(self.store.clone())
    }

    /// Specialist procedures: tokens for their client credentials, and their desks.
    pub fn procedures(&self) -> procedures::Procedures {
        procedures::Procedures::new(self.clone())
    }
}
