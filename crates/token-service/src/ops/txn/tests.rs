//! `Debug` of the STK1-TXN request and operation types shows no field
//! value and no code.

use softtoken_core::stk1::messages::decode;
use softtoken_core::txn::{Kind, TxnId};

use super::create::CreateTxn;
use super::verify_code::VerifyCode;
use super::{CreateTxnRequest, VerifyCodeRequest};

const ACCOUNT: &str = "7654321";
const NAME: &str = "ヤマダ タロウ";
const CODE: &str = "918273";

fn fields() -> Vec<(String, String)> {
    vec![
        ("payee_bank".into(), "かけしん信用金庫".into()),
        ("payee_branch".into(), "本店営業部".into()),
        ("account_type".into(), "普通".into()),
        ("account_number".into(), ACCOUNT.into()),
        ("payee_name".into(), NAME.into()),
        ("amount".into(), "98765".into()),
    ]
}

#[test]
fn debug_hides_field_values_and_codes() {
    let id = TxnId::from_bytes([3; 16]);
    let body = format!(
        r#"{{"v":1,"customer_id":"c1","kind":"transfer","fields":[["payee_bank","かけしん信用金庫"],["payee_branch","本店営業部"],["account_type","普通"],["account_number","{ACCOUNT}"],["payee_name","{NAME}"],["amount","98765"]]}}"#
    );
    let req: CreateTxnRequest = decode(body.as_bytes()).unwrap();
    assert_eq!(req.fields, fields());
    let code_body = format!(r#"{{"v":1,"customer_id":"c1","txn_id":"{id}","code":"{CODE}"}}"#);
    let vreq: VerifyCodeRequest = decode(code_body.as_bytes()).unwrap();
    let shown = [
        format!("{req:?}"),
        format!("{vreq:?}"),
        format!(
            "{:?}",
            CreateTxn {
                customer_id: "c1".into(),
                kind: Kind::Transfer,
                fields: fields(),
            }
        ),
        format!(
            "{:?}",
            VerifyCode {
                customer_id: "c1".into(),
                txn_id: id,
                code: CODE.into(),
            }
        ),
    ];
    for s in &shown {
        for secret in [ACCOUNT, NAME, "98765", "本店営業部", CODE] {
            assert!(!s.contains(secret), "{secret} visible in {s}");
        }
    }
}

#[test]
fn request_types_deny_unknown_members() {
    let id = TxnId::from_bytes([3; 16]);
    let body = format!(r#"{{"v":1,"customer_id":"c1","txn_id":"{id}","extra":true}}"#);
    assert!(decode::<super::TxnRequest>(body.as_bytes()).is_err());
    let body = format!(r#"{{"v":1,"customer_id":"c1","txn_id":"{id}"}}"#);
    assert!(decode::<super::TxnRequest>(body.as_bytes()).is_ok());
}
