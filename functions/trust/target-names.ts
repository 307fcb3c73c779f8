/**
 * The name of each kind of trust target (what plans, history and notifications call it). Pure, so a dry
 * run can name the targets a rotation would publish to without loading any target's code or SDK client.
 */
export const trustTargetName = {
  bundleObject: (bucket: string, key: string) => `s3://${bucket}/${key}`,
  bundleSecret: (secretId: string) => `secretsmanager:${secretId}`,
  cloudFrontTrustStore: (trustStoreId: string) => `cloudfront-trust-store:${trustStoreId}`,
  albTrustStore: (trustStoreArn: string) => `alb-trust-store:${trustStoreArn}`,
  apiGatewayDomain: (domainName: string) => `apigateway-domain:${domainName}`,
  webhook: (url: { origin: string; pathname: string }) => `webhook:${url.origin}${url.pathname}`,
  eventBus: (eventBusName: string) => `eventbridge:${eventBusName}`,
};
