//! The disposition of a dedicated network, pure: `retire` wins; otherwise classified networks
//! move onto the e-government intranet and unclassified ones onto the extranet.

use govcloud_crds::common::Classification;
use govcloud_crds::network::dedicated_network::{DedicatedNetworkSpec, Disposition};

/// What becomes of the network `spec` describes.
pub fn disposition(spec: &DedicatedNetworkSpec) -> Disposition {
    if spec.retire {
        return Disposition::Retire;
    }
    match spec.classification {
        Classification::Classified => Disposition::MigrateToIntranet,
        Classification::Unclassified => Disposition::MigrateToExtranet,
    }
}

/// The disposition's name, as labels and messages write it.
pub fn disposition_name(disposition: Disposition) -> &'static str {
    match disposition {
        Disposition::MigrateToExtranet => "MigrateToExtranet",
        Disposition::MigrateToIntranet => "MigrateToIntranet",
        Disposition::Retire => "Retire",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consolidation::testing::spec;

    #[test]
    fn classification_and_retire_decide() {
        let mut network = spec(Classification::Unclassified, &[]);
        assert_eq!(disposition(&network), Disposition::MigrateToExtranet);
        network.classification = Classification::Classified;
        assert_eq!(disposition(&network), Disposition::MigrateToIntranet);
        network.retire = true;
        assert_eq!(disposition(&network), Disposition::Retire);
        network.classification = Classification::Unclassified;
        assert_eq!(disposition(&network), Disposition::Retire);
        assert_eq!(disposition_name(Disposition::Retire), "Retire");
    }
}
