//! SNS topics whose messages a test can read: each topic gets an SQS queue subscribed to it, as
//! a consumer would subscribe one, and the messages are read back from the queue.

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

/// A topic and the queue that receives what is published to it.
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    /// A new topic `name` (FIFO when it ends `.fifo`) with a queue subscribed; `filter` is the
    /// subscription's filter policy on message attributes, if any.
    pub async fn new(
        config: &aws_config::SdkConfig,
        name: &str,
        filter: Option<&str>,
    ) -> anyhow::Result<Inbox> {
        let sns = aws_sdk_sns::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let fifo = name.ends_with(".fifo");
        let mut topic = sns.create_topic().name(name);
        let mut queue = sqs.create_queue().queue_name(format!("inbox-{name}"));
        if fifo {
            topic = topic.attributes("FifoTopic", "true");
            queue = queue.attributes(QueueAttributeName::FifoQueue, "true");
        }
        let topic_arn = topic
            .send()
            .await?
            .topic_arn()
            .unwrap_or_default()
            .to_string();
        let queue_url = queue
            .send()
            .await?
            .queue_url()
            .unwrap_or_default()
            .to_string();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        let mut subscribe = sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn);
        if let Some(policy) = filter {
            subscribe = subscribe.attributes("FilterPolicy", policy);
        }
        subscribe.send().await?;
        Ok(Inbox {
            topic_arn,
            queue_url,
            sqs,
        })
    }

    /// Every message delivered so far, as SNS's JSON envelope (`Subject`, `Message`,
    /// `MessageAttributes`), taken off the queue.
    pub async fn take(&self) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await?;
            if got.messages().is_empty() {
                return Ok(out);
            }
            for m in got.messages() {
                out.push(serde_json::from_str(m.body().unwrap_or_default())?);
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
            }
        }
    }
}
