# frozen_string_literal: true

require "base64"
require "openssl"

module ExampleSdk
  # How far webhook-timestamp may be from the clock, either way, in seconds.
  WEBHOOK_TOLERANCE = 5 * 60

  # A webhook delivery was refused: reason is :headers, :timestamp, :signature or :secret.
  class WebhookVerificationError < StandardError
    attr_reader :reason

    def initialize(reason, message)
      super(message)
      @reason = reason
    end
  end

  # Checks that a delivery was signed with secret ("whsec_…", as the endpoint's
  # creation or rotation answered it; during a rotation's 24 hours pass both, in
  # an array) by the Standard Webhooks scheme and is recent: an HMAC-SHA256 over
  # "webhook-id.webhook-timestamp.body" matching one of the space-separated
  # "v1,<base64>" entries of webhook-signature (compared in constant time), and
  # a webhook-timestamp within tolerance seconds of now (a Time, or a callable
  # returning one: tests). body is the raw body as received; headers any Hash
  # (any case of names) or Rack-like object. Returns true or raises
  # WebhookVerificationError. The webhook-id is the event's id, the same on
  # every retry: drop deliveries whose id you already processed.
  def self.verify_webhook(secret, headers, body, now: nil, tolerance: WEBHOOK_TOLERANCE)
    keys = Array(secret).map { |s| Webhook.key(s) }
    id = Webhook.header(headers, "webhook-id")
    ts = Webhook.header(headers, "webhook-timestamp")
    sigs = Webhook.header(headers, "webhook-signature")
    if [id, ts, sigs].any? { |v| v.nil? || v.empty? }
      raise WebhookVerificationError.new(:headers, "webhook-id, webhook-timestamp or webhook-signature is missing")
    end
    raise WebhookVerificationError.new(:headers, "webhook-timestamp is not a number of seconds") unless ts.match?(/\A\d+\z/)

    clock = now.respond_to?(:call) ? now.call : (now || Time.now)
    if (clock.to_f - ts.to_i).abs > tolerance
      raise WebhookVerificationError.new(:timestamp, "webhook-timestamp is more than the tolerance away from now")
    end
    signed = "#{id}.#{ts}.".b + body.to_s.b
    candidates = sigs.split(" ").filter_map do |entry|
      version, sig = entry.split(",", 2)
      sig if version == "v1" && sig && !sig.empty?
    end
    keys.each do |key|
      want = Base64.strict_encode64(OpenSSL::HMAC.digest("SHA256", key, signed))
      candidates.each do |sig|
        return true if sig.bytesize == want.bytesize && OpenSSL.fixed_length_secure_compare(sig, want)
      end
    end
    raise WebhookVerificationError.new(:signature, "no webhook signature matches the secret")
  end

  module Webhook # :nodoc:
    def self.key(secret)
      raw = secret.to_s.delete_prefix("whsec_")
      key = begin
        Base64.strict_decode64(raw)
      rescue ArgumentError
        ""
      end
      raise WebhookVerificationError.new(:secret, "the webhook secret is not whsec_ followed by base64") if key.empty?

      key
    end

    def self.header(headers, name)
      value = nil
      headers.each { |k, v| value = v if k.to_s.downcase.tr("_", "-").delete_prefix("http-") == name }
      value.is_a?(Array) ? value.join(" ") : value
    end
  end
end
