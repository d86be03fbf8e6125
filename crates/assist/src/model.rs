//! A client for a self-hosted, OpenAI-compatible chat endpoint (vLLM, llama.cpp server,
//! Ollama), used only when the admin configures one (`model_url`). Nothing else is ever sent to
//! a model; errors name the kind of failure, never the content.

use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    /// Base URL, e.g. `http://127.0.0.1:8000/v1`.
    url: String,
    model: String,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model endpoint is unreachable or timed out")]
    Unavailable,
    #[error("the model endpoint answered with HTTP {0}")]
    Status(u16),
    #[error("the model's answer is not a chat completion")]
    Malformed,
}

impl ModelClient {
    pub fn new(url: &str, model: &str, timeout: Duration) -> Self {
        Self { http: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned(), model: model.to_owned(), timeout }
    }

    /// One chat completion at temperature 0; returns the assistant's text.
    pub async fn chat(&self, system: &str, user: &str) -> Result<String, ModelError> {
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        });
        let response = self
            .http
            .post(format!("{}/chat/completions", self.url))
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|_| ModelError::Unavailable)?;
        if !response.status().is_success() {
            return Err(ModelError::Status(response.status().as_u16()));
        }
        let value: Value = response.json().await.map_err(|_| ModelError::Malformed)?;
        value["choices"][0]["message"]["content"].as_str().map(str::to_owned).ok_or(ModelError::Malformed)
    }
}
