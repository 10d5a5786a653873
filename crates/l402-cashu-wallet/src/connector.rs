//! The wallet's connection to its mint: cdk's HTTP client, with every melt made synchronous.
//!
//! cdk 0.18.3 always asks for an asynchronous melt (NUT-05 `prefer_async: true`) and then
//! waits for the quote to be paid; Nutshell 0.20.2 answers such a melt before its background
//! task marks the quote pending, so cdk reads "unpaid", gives the melt up and drops its
//! change outputs (NUT-08) while the mint goes on paying. A synchronous melt answers with the
//! outcome and the change, on every mint.

use async_trait::async_trait;
use cdk::nuts::{
    BatchCheckMintQuoteRequest, BatchMintRequest, CheckStateRequest, CheckStateResponse, Id, KeySet, KeysetResponse,
    MeltRequest, MintInfo, MintRequest, MintResponse, PaymentMethod, RestoreRequest, RestoreResponse, SwapRequest,
    SwapResponse,
};
use cdk::wallet::{AuthWallet, HttpClient, LnurlPayInvoiceResponse, LnurlPayResponse, MintConnector};
use cdk::{Error, MeltQuoteCreateResponse, MeltQuoteRequest, MeltQuoteResponse, MintQuoteRequest, MintQuoteResponse};

#[derive(Debug)]
pub(crate) struct SyncMelt(pub(crate) HttpClient);

#[async_trait]
impl MintConnector for SyncMelt {
    async fn fetch_lnurl_pay_request(&self, url: &str) -> Result<LnurlPayResponse, Error> {
        self.0.fetch_lnurl_pay_request(url).await
    }
    async fn fetch_lnurl_invoice(&self, url: &str) -> Result<LnurlPayInvoiceResponse, Error> {
        self.0.fetch_lnurl_invoice(url).await
    }
    async fn get_mint_keys(&self) -> Result<Vec<KeySet>, Error> {
        self.0.get_mint_keys().await
    }
    async fn get_mint_keyset(&self, keyset_id: Id) -> Result<KeySet, Error> {
        self.0.get_mint_keyset(keyset_id).await
    }
    async fn get_mint_keysets(&self) -> Result<KeysetResponse, Error> {
        self.0.get_mint_keysets().await
    }
    async fn post_mint_quote(&self, request: MintQuoteRequest) -> Result<MintQuoteResponse<String>, Error> {
        self.0.post_mint_quote(request).await
    }
    async fn post_mint(&self, method: &PaymentMethod, request: MintRequest<String>) -> Result<MintResponse, Error> {
        self.0.post_mint(method, request).await
    }
    async fn post_batch_check_mint_quote_status(
        &self,
        method: &PaymentMethod,
        request: BatchCheckMintQuoteRequest<String>,
    ) -> Result<Vec<MintQuoteResponse<String>>, Error> {
        self.0.post_batch_check_mint_quote_status(method, request).await
    }
    async fn post_batch_mint(&self, method: &PaymentMethod, request: BatchMintRequest<String>) -> Result<MintResponse, Error> {
        self.0.post_batch_mint(method, request).await
    }
    async fn post_melt_quote(&self, request: MeltQuoteRequest) -> Result<MeltQuoteCreateResponse<String>, Error> {
        self.0.post_melt_quote(request).await
    }
    async fn get_mint_quote_status(&self, method: PaymentMethod, quote_id: &str) -> Result<MintQuoteResponse<String>, Error> {
        self.0.get_mint_quote_status(method, quote_id).await
    }
    async fn get_melt_quote_status(&self, method: PaymentMethod, quote_id: &str) -> Result<MeltQuoteResponse<String>, Error> {
        self.0.get_melt_quote_status(method, quote_id).await
    }
    async fn post_melt(&self, method: &PaymentMethod, request: MeltRequest<String>) -> Result<MeltQuoteResponse<String>, Error> {
        self.0.post_melt(method, request.prefer_async(false)).await
    }
    async fn post_swap(&self, request: SwapRequest) -> Result<SwapResponse, Error> {
        self.0.post_swap(request).await
    }
    async fn get_mint_info(&self) -> Result<MintInfo, Error> {
        self.0.get_mint_info().await
    }
    async fn post_check_state(&self, request: CheckStateRequest) -> Result<CheckStateResponse, Error> {
        self.0.post_check_state(request).await
    }
    async fn post_restore(&self, request: RestoreRequest) -> Result<RestoreResponse, Error> {
        self.0.post_restore(request).await
    }
    async fn get_auth_wallet(&self) -> Option<AuthWallet> {
        self.0.get_auth_wallet().await
    }
    async fn set_auth_wallet(&self, wallet: Option<AuthWallet>) {
        self.0.set_auth_wallet(wallet).await
    }
}
