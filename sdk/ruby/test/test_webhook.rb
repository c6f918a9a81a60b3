# frozen_string_literal: true

# verify_webhook against the Standard Webhooks specification's own example.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "example_sdk"

class WebhookTest < Minitest::Test
  # The specification's example (reproduced by its reference Go library).
  SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
  OTHER = "whsec_c2Vjb25kIHNlY3JldCBvZiB0d2VudHk0Ynl0"
  TS = 1_614_265_330
  BODY = '{"test": 2432232314}'
  SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
  HEADERS = { "webhook-id" => "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp" => TS.to_s, "webhook-signature" => SIG }.freeze

  def at(delta = 0) = Time.at(TS + delta)

  def test_accepts
    assert ExampleSdk.verify_webhook(SECRET, HEADERS, BODY, now: at)
    assert ExampleSdk.verify_webhook([OTHER, SECRET], HEADERS, BODY, now: -> { at })
    assert ExampleSdk.verify_webhook(SECRET.delete_prefix("whsec_"), HEADERS, BODY, now: at)
    rack = { "HTTP_WEBHOOK_ID" => HEADERS["webhook-id"], "HTTP_WEBHOOK_TIMESTAMP" => TS.to_s,
             "HTTP_WEBHOOK_SIGNATURE" => "v1,AAAA v2,zz #{SIG}" }
    assert ExampleSdk.verify_webhook(SECRET, rack, BODY, now: at)
    assert ExampleSdk.verify_webhook(SECRET, HEADERS, BODY, now: at(300))
    assert ExampleSdk.verify_webhook(SECRET, HEADERS, BODY, now: at(-300))
  end

  def refused(reason, secret, headers, body, now)
    err = assert_raises(ExampleSdk::WebhookVerificationError) { ExampleSdk.verify_webhook(secret, headers, body, now: now) }
    assert_equal reason, err.reason
  end

  def test_refuses
    refused(:signature, SECRET, HEADERS, '{"test": 2432232315}', at)
    refused(:signature, OTHER, HEADERS, BODY, at)
    refused(:signature, SECRET, HEADERS.merge("webhook-id" => "msg_other"), BODY, at)
    refused(:signature, SECRET, HEADERS.merge("webhook-signature" => "v2#{SIG[2..]}"), BODY, at)
    refused(:timestamp, SECRET, HEADERS, BODY, at(301))
    refused(:timestamp, SECRET, HEADERS, BODY, at(-301))
    refused(:headers, SECRET, HEADERS.reject { |k, _| k == "webhook-id" }, BODY, at)
    refused(:headers, SECRET, HEADERS.merge("webhook-timestamp" => "soon"), BODY, at)
    refused(:secret, "whsec_!!!", HEADERS, BODY, at)
  end
end
