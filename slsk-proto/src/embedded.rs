//! Server search requests carry a distributed message inside them.

use crate::distributed::{DistributedMessage, DistributedServerSearchRequest};
use crate::error::DecodeError;
use crate::limits::Limits;
use crate::message::FramedMessage;
use crate::server::ServerSearchRequestResponse;

impl ServerSearchRequestResponse {
    /// The distributed message inside (in practice a `DistributedSearchRequest`).
    pub fn embedded(&self) -> Result<DistributedMessage, DecodeError> {
        DistributedMessage::decode_payload(
            u32::from(self.distributed_code),
            &self.payload,
            &Limits::DEFAULT,
        )
    }
}

impl DistributedServerSearchRequest {
    /// The distributed message inside (in practice a `DistributedSearchRequest`).
    pub fn embedded(&self) -> Result<DistributedMessage, DecodeError> {
        DistributedMessage::decode_payload(
            u32::from(self.distributed_code),
            &self.payload,
            &Limits::DEFAULT,
        )
    }
}
