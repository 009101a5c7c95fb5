//! The resource hub on files: `${VAR}` from the environment and a `.env` file, defaults, an unset
//! variable (a warning at load, an error naming it when the resource is used), malformed files and
//! missing ones. Every variable a test reads is named after the test, so tests may run at once.

use std::path::{Path, PathBuf};

use operonx::resources::{ResourceHub, UnsetVariable};
use operonx::OperonError;
use serde_json::json;

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("operonx-res-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_dotenv_and_resources_yaml_round_trip_with_an_unset_variable() {
    let d = dir("roundtrip");
    let yaml = write(
        &d,
        "resources.yaml",
        "llm:\n  gpt:\n    model: gpt-4o\n    api_key: ${RT_KEY}\n    base_url: ${RT_URL:-https://api.example.org/v1}\n\
         \x20 claude:\n    api_key: ${RT_UNSET_KEY}\n    headers: [\"x\", \"${RT_UNSET_HEADER}\"]\n",
    );
    let env = write(&d, ".env", "# keys\nRT_KEY=sk-from-dotenv\nexport RT_URL=\"https://proxy.example.org\"\n");
    let hub = ResourceHub::load(&yaml, Some(&env)).unwrap();

    assert_eq!(hub.keys(), vec!["llm:gpt", "llm:claude"]);
    let gpt = hub.get("llm:gpt").unwrap();
    assert_eq!(json!(gpt), json!({"model": "gpt-4o", "api_key": "sk-from-dotenv", "base_url": "https://proxy.example.org"}));

    // the unset variables are warnings at load, naming the variable, the key and the file ...
    let file = std::path::absolute(&yaml).unwrap();
    assert_eq!(
        hub.warnings(),
        vec![
            UnsetVariable {
                variable: "RT_UNSET_KEY".into(),
                key: "llm:claude.api_key".into(),
                resource: "llm:claude".into(),
                file: file.clone()
            },
            UnsetVariable {
                variable: "RT_UNSET_HEADER".into(),
                key: "llm:claude.headers[1]".into(),
                resource: "llm:claude".into(),
                file: file.clone()
            },
        ]
    );
    assert!(hub.warnings()[0].to_string().contains("${RT_UNSET_KEY} is not set (read by llm:claude.api_key in "));
    // ... and an error naming them when that resource is used
    let err = hub.get("llm:claude").unwrap_err();
    match &err {
        OperonError::EnvVarUnset { var, key, source_path, env_paths } => {
            assert_eq!((var.as_str(), key.as_str()), ("RT_UNSET_KEY", "llm:claude.api_key"));
            assert_eq!(source_path.as_deref(), Some(file.as_path()));
            assert_eq!(env_paths, &vec![std::path::absolute(&env).unwrap()]);
        }
        other => panic!("expected EnvVarUnset, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("RT_UNSET_KEY") && text.contains("llm:claude.api_key"), "{text}");
    assert!(text.contains(&file.display().to_string()), "{text}");
    // the .env file was read, not loaded into the process environment
    assert!(std::env::var("RT_KEY").is_err());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_environment_wins_over_the_dotenv_file_and_defaults_apply() {
    let d = dir("precedence");
    std::env::set_var("PREC_BOTH", "from-environment");
    std::env::set_var("PREC_EMPTY", "");
    let yaml = write(
        &d,
        "r.yaml",
        "svc:\n  both: ${PREC_BOTH}\n  file_only: ${PREC_FILE}\n  dash: ${PREC_EMPTY:-dash-default}\n  \
         colon: ${PREC_EMPTY:colon-default}\n  unset: ${PREC_NONE:-d}\n  literal: $${PREC_BOTH}\n  n: 3\n",
    );
    let env = write(&d, ".env", "PREC_BOTH=from-dotenv\nPREC_FILE=file\n");
    let hub = ResourceHub::load(&yaml, Some(&env)).unwrap();
    assert_eq!(
        json!(hub.get("svc").unwrap()),
        json!({"both": "from-environment", "file_only": "file", "dash": "dash-default", "colon": "",
               "unset": "d", "literal": "${PREC_BOTH}", "n": 3})
    );
    assert!(hub.warnings().is_empty());
    // from_yaml reads the environment only
    let hub = ResourceHub::from_yaml(&yaml).unwrap();
    assert_eq!(hub.warnings().len(), 1);
    assert_eq!(hub.warnings()[0].variable, "PREC_FILE");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn malformed_yaml_is_an_error_naming_the_file_and_the_line() {
    let d = dir("malformed");
    let yaml = write(&d, "resources.yaml", "llm:\n  gpt:\n    model: [gpt-4o\n    key: x\n");
    match ResourceHub::from_yaml(&yaml).unwrap_err() {
        OperonError::ResourceFile { file, line, message } => {
            assert_eq!(file, std::path::absolute(&yaml).unwrap());
            assert_eq!(line, Some(4));
            assert!(message.contains("not valid YAML"), "{message}");
        }
        other => panic!("expected ResourceFile, got {other:?}"),
    }
    let err = ResourceHub::from_yaml(&yaml).unwrap_err().to_string();
    assert!(err.contains("resources.yaml, line 4: is not valid YAML"), "{err}");

    for (text, says) in [
        ("- a\n- b\n", "must map resource names to their settings, not be a list"),
        ("svc: 3\n", "resource 'svc' must be a mapping of settings, not a number"),
        ("llm:\n  gpt: {a: 1}\nllm:gpt:\n  b: 2\n", "resource 'llm:gpt' is defined twice"),
    ] {
        let yaml = write(&d, "shape.yaml", text);
        let err = ResourceHub::from_yaml(&yaml).unwrap_err();
        assert!(matches!(err, OperonError::ResourceFile { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
    }

    let yaml = write(&d, "ok.yaml", "svc: {url: x}\n");
    let env = write(&d, ".env", "GOOD=1\nthis line is not a variable\n");
    match ResourceHub::load(&yaml, Some(&env)).unwrap_err() {
        OperonError::ResourceFile { file, line, message } => {
            assert_eq!(file, std::path::absolute(&env).unwrap());
            assert_eq!(line, Some(2));
            assert!(message.contains("not a valid .env file"), "{message}");
        }
        other => panic!("expected ResourceFile, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn missing_files_and_names_are_errors_naming_them_and_empty_files_give_empty_hubs() {
    let d = dir("missing");
    let missing = d.join("nope.yaml");
    match ResourceHub::from_yaml(&missing).unwrap_err() {
        OperonError::ResourceFile { file, message, .. } => {
            assert_eq!(file, missing);
            assert_eq!(message, "does not exist");
        }
        other => panic!("expected ResourceFile, got {other:?}"),
    }
    let yaml = write(&d, "resources.yaml", "svc: {url: x}\n");
    let err = ResourceHub::load(&yaml, Some(d.join(".env"))).unwrap_err();
    assert!(err.to_string().contains(".env: does not exist"), "{err}");

    let hub = ResourceHub::from_yaml(&yaml).unwrap();
    let err = hub.get("llm:gpt").unwrap_err().to_string();
    assert!(err.contains("resource 'llm:gpt' not found in ") && err.contains("it has: 'svc'"), "{err}");
    assert!(hub.has("svc") && !hub.has("llm:gpt"));

    for text in ["", "# only a comment\n", "~\n"] {
        let empty = write(&d, "empty.yaml", text);
        let hub = ResourceHub::from_yaml(&empty).unwrap();
        assert!(hub.is_empty());
        assert!(hub.get("x").unwrap_err().to_string().contains("it has no resources"));
    }
    assert!(ResourceHub::empty().get("x").unwrap_err().to_string().contains("an empty hub"));
    let _ = std::fs::remove_dir_all(&d);
}
