//! Responses recorded from a real llama.cpp server (`fixtures/llama-server/`, see its README)
//! replayed through the LLM client: extra fields, missing optional ones, a JSON answer cut
//! off at the token limit, and llama.cpp's own error bodies.

use std::time::{Duration, Instant};

use rewriter::llm::{LlmClient, LlmError};
use rewriter::prompts::{PromptLibrary, sample_headline};
use rewriter::review::Verdict;

use crate::support::{Fault, TestEnv, repo};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/e2e/fixtures/llama-server").join(name)).unwrap()
}

fn replay(status: u16, name: &str) -> Fault {
    Fault::Status {
        code: status,
        retry_after: None,
        body: fixture(name),
    }
}

async fn ask_for_the_overview(env: &TestEnv) -> Result<rewriter::llm::Answer, LlmError> {
    let settings = env.settings();
    // v1 (the environment's set): the recordings are answers to its overview call.
    let library = PromptLibrary::load(&settings.prompts_dir, settings.prompt_version).unwrap();
    let set = library.get(library.current()).unwrap();
    let calls = set.render(&sample_headline()).unwrap();
    let overview = calls.iter().find(|c| c.spec.name == "overview").unwrap();
    let client = LlmClient::new(&settings.llm, Default::default()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    client
        .complete(set, overview, deadline, |_| Verdict::default())
        .await
}

#[tokio::test]
async fn a_llama_server_answer_with_timings_and_without_logprobs_is_read() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.push_faults([replay(200, "ok.json")]);

    // Act
    let answer = ask_for_the_overview(&env).await.unwrap();

    // Assert
    assert!(
        answer.value["overview"]
            .as_str()
            .unwrap()
            .starts_with("Bitcoin ETFs")
    );
    assert_eq!(answer.usage.prompt_tokens, 559);
    assert_eq!(answer.usage.completion_tokens, 57);
    assert_eq!(answer.requests, 1);
}

#[tokio::test]
async fn a_llama_server_answer_cut_off_at_the_token_limit_is_asked_for_again() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm
        .push_faults([replay(200, "length.json"), replay(200, "ok.json")]);

    // Act
    let answer = ask_for_the_overview(&env).await.unwrap();

    // Assert
    assert_eq!(answer.requests, 2);
    assert_eq!(
        answer.usage.prompt_tokens,
        2 * 559,
        "both requests are counted"
    );
}

#[tokio::test]
async fn a_llama_server_context_overflow_is_a_readable_refusal_not_a_retry() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.push_faults([replay(400, "error-400-context.json")]);

    // Act
    let error = ask_for_the_overview(&env).await.unwrap_err();

    // Assert
    assert!(matches!(error, LlmError::Rejected { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("exceeds the available context size"),
        "{error}"
    );
    assert_eq!(env.llm.requests(), 1);
}

#[tokio::test]
async fn a_llama_server_500_is_retried() {
    // Arrange
    let env = TestEnv::new().await;
    env.llm.push_faults([
        replay(500, "error-500-malformed.json"),
        replay(200, "ok.json"),
    ]);

    // Act
    let answer = ask_for_the_overview(&env).await.unwrap();

    // Assert
    assert_eq!(answer.requests, 2);
}
