/** The day the table below was shipped in pcc (the commit that added it): its figures are us-east-1 on-demand prices as pcc knew them then. */
export const ON_DEMAND_TABLE_DATE = '2026-11-22';
export const ON_DEMAND_TABLE_REGION = 'us-east-1';

/**
 * On-demand Linux prices in USD per hour, us-east-1, for the instance types a
 * personal cloud is likely to use: the fallback where the Price List API
 * (price-book.ts) cannot be asked. Other regions cost about the same or
 * somewhat more, so a table price outside us-east-1 is a guide, and the
 * source says so. Spot instances are priced live with DescribeSpotPriceHistory.
 */
export const ON_DEMAND_USD_PER_HOUR: Readonly<Record<string, number>> = {
  't3.micro': 0.0104,
  't3.small': 0.0208,
  't3.medium': 0.0416,
  't3.large': 0.0832,
  't3.xlarge': 0.1664,
  't3.2xlarge': 0.3328,
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'm6i.4xlarge': 0.768,
  'm7i.large': 0.1008,
  'm7i.xlarge': 0.2016,
  'm7i.2xlarge': 0.4032,
  'c5.large': 0.085,
  'c5.xlarge': 0.17,
  'c6i.large': 0.085,
  'c6i.xlarge': 0.17,
  'c6i.2xlarge': 0.34,
  'c6i.4xlarge': 0.68,
  'c6i.8xlarge': 1.36,
  'c7i.large': 0.08925,
  'c7i.xlarge': 0.1785,
  'c7i.2xlarge': 0.357,
  'r6i.large': 0.126,
  'r6i.xlarge': 0.252,
  'g4dn.xlarge': 0.526,
  'g4dn.2xlarge': 0.752,
  'g4dn.4xlarge': 1.204,
  'g4dn.12xlarge': 3.912,
  'g5.xlarge': 1.006,
  'g5.2xlarge': 1.212,
  'g5.4xlarge': 1.624,
  'g5.8xlarge': 2.448,
  'g5.12xlarge': 5.672,
  'g5.48xlarge': 16.288,
  'g6.xlarge': 0.8048,
  'g6.2xlarge': 0.9776,
  'g6.4xlarge': 1.3232,
  'p3.2xlarge': 3.06,
  'p3.8xlarge': 12.24,
  'p4d.24xlarge': 32.7726,
};

export function onDemandPrice(instanceType: string): number | undefined {
  return ON_DEMAND_USD_PER_HOUR[instanceType];
}

/** The day the storage figures below were written into pcc: AWS's published us-east-1 EBS prices, which have not changed in years. */
export const STORAGE_PRICES_DATE = '2026-11-22';

/**
 * USD per GB-month, us-east-1: EBS volumes by type, and EBS snapshots
 * (standard tier; an AMI costs what its snapshots cost). One place for every
 * per-GB figure pcc uses.
 */
export const STORAGE_USD_PER_GB_MONTH: Readonly<Record<string, number>> = {
  gp3: 0.08,
  gp2: 0.1,
  io1: 0.125,
  io2: 0.125,
  st1: 0.045,
  sc1: 0.015,
  standard: 0.05,
  snapshot: 0.05,
};

export function storagePrice(kind: string): number | undefined {
  return STORAGE_USD_PER_GB_MONTH[kind];
}
